"""GET /managed/payload: uploaded files served back with their headers, validators and ranges."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils import files
from tests.utils.factories import Api, record, upload
from tests.utils.uploads import SPACE, attachment_parents, stored_record


@pytest.fixture
def demo(admin: Api) -> Api:
    """A space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    return attachment_parents(admin)


CASES = [
    ("media", "pixel.png", lambda tmp: files.PNG, "image_png", "png", "image/png", "inline"),
    ("media", "pixel.JPG", lambda tmp: files.JPEG_PIXEL, "image_jpeg", "jpg", "image/jpeg", "inline"),
    ("media", "logo.jpeg", lambda tmp: files.jpeg(), "image_jpeg", "jpeg", "image/jpeg", "inline"),
    ("media", "paper.pdf", lambda tmp: files.PDF, "pdf", "pdf", "application/pdf", "inline"),
    ("media", "draw.svg", lambda tmp: files.SVG_WITH_SCRIPT, "image_svg", "svg", "image/svg+xml", "attachment"),
    ("csv", "excel.csv", lambda tmp: files.CSV_BOM_SEMICOLONS, "csv", "csv", "text/csv; charset=utf-8", "attachment"),
    ("csv", "notes.csv", lambda tmp: files.CSV_QUOTED_NEWLINES, "csv", "csv", "text/csv; charset=utf-8", "attachment"),
    (
        "jsonl",
        "rows.jsonl",
        lambda tmp: files.JSONL_MIXED_KEYS,
        "jsonl",
        "jsonl",
        "application/jsonlines",
        "attachment",
    ),
    ("parquet", "t.parquet", files.parquet, "parquet", "parquet", "application/vnd.apache.parquet", "attachment"),
    ("duckdb", "d.duckdb", files.duckdb_database, "duckdb", "duckdb", "application/octet-stream", "attachment"),
    ("sqlite", "s.sqlite3", files.sqlite_database, "sqlite", "sqlite3", "application/vnd.sqlite3", "attachment"),
]


@pytest.mark.parametrize(
    ("resource_type", "file_name", "make", "content_type", "extension", "media_type", "disposition"),
    CASES,
    ids=[case[1] for case in CASES],
)
def test_each_kind_comes_back_byte_identical_with_headers_ranges_and_304(
    demo: Api,
    tmp_path: Path,
    resource_type: str,
    file_name: str,
    make: Any,
    content_type: str,
    extension: str,
    media_type: str,
    disposition: str,
) -> None:
    content = make(tmp_path)
    stored = stored_record(
        upload(demo, SPACE, record(resource_type, "gallery/album1", "item", is_active=True), file_name, content)
    )
    assert stored["attributes"]["payload"]["content_type"] == content_type
    assert stored["attributes"]["payload"]["body"] == f"item.{extension}"

    url = f"/managed/payload/{resource_type}/{SPACE}/gallery/album1/item.{extension}"
    served = demo.get(url)
    assert served.status_code == 200
    assert served.content == content
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    assert served.headers["content-type"] == media_type
    assert served.headers["content-length"] == str(len(content))
    bare = demo.get(f"/managed/payload/{resource_type}/{SPACE}/gallery/album1/item")
    assert (bare.status_code, bare.content, bare.headers["content-type"]) == (200, content, media_type)
    assert served.headers["etag"] == etag
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("sandbox")
    assert served.headers["content-disposition"] == (
        f"{disposition}; filename=\"item.{extension}\"; filename*=UTF-8''item.{extension}"
    )
    assert "last-modified" in served.headers

    cached = demo.client.get(url, headers={**demo.headers, "if-none-match": etag})
    assert (cached.status_code, cached.content) == (304, b"")

    ranged = demo.client.get(url, headers={**demo.headers, "range": "bytes=1-4"})
    assert ranged.status_code == 206
    assert ranged.content == content[1:5]
    assert ranged.headers["content-range"] == f"bytes 1-4/{len(content)}"


def test_non_ascii_names_survive_content_disposition(demo: Api) -> None:
    upload(demo, SPACE, record("media", "gallery/album1", "صورة"), "x.png", files.PNG)

    served = demo.get(f"/managed/payload/media/{SPACE}/gallery/album1/صورة.png")

    assert served.status_code == 200
    assert served.headers["content-disposition"] == (
        "inline; filename=\"____.png\"; filename*=UTF-8''%D8%B5%D9%88%D8%B1%D8%A9.png"
    )


def test_legacy_image_meta_with_sha1_is_served_by_its_extension(sample_spaces: Path) -> None:
    settings = make_settings(sample_spaces)
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.services.auth.set_password(settings.admin_shortname, ADMIN_PASSWORD)
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        served = api.get("/managed/payload/media/applications/api/test_by_saad/warframe.png")

    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["etag"] == '"0b804f29add4fa90f4aeabf4a6110bbd806540d4"'
    assert (
        served.content
        == (sample_spaces / "applications/api/.dm/test_by_saad/attachments.media/warframe.png").read_bytes()
    )


def test_meta_without_checksum_gets_an_etag_from_the_file(demo: Api, settings: Settings) -> None:
    upload(demo, SPACE, record("media", "gallery/album1", "old"), "old.png", files.PNG)
    meta_path = settings.spaces_root / SPACE / "gallery/.dm/album1/attachments.media/meta.old.json"
    meta = json.loads(meta_path.read_text())
    del meta["payload"]["checksum"]
    meta_path.write_text(json.dumps(meta))

    served = demo.get(f"/managed/payload/media/{SPACE}/gallery/album1/old.png")

    assert served.headers["etag"] == f'"{hashlib.sha256(files.PNG).hexdigest()}"'


def test_openapi_declares_raw_payload_answers(client: TestClient) -> None:
    answers = client.get("/openapi.json").json()["paths"]
    payload = answers["/managed/payload/{resource_type}/{space_name}/{subpath}/{file_name}"]["get"]["responses"]
    assert payload["200"]["content"]["*/*"]["schema"] == {"type": "string", "format": "binary"}
    assert {"206", "304", "416"} <= set(payload)


def test_json_attachments_come_in_the_envelope_and_json_media_stays_a_file(demo: Api) -> None:
    document = b'{"title": "ui"}'
    upload(demo, SPACE, record("json", "reports/sales", "settings"), "s.json", document)
    upload(demo, SPACE, record("media", "reports/sales", "ui_schema"), "ui.json", document)

    as_json = demo.get(f"/managed/payload/json/{SPACE}/reports/sales/settings.json")
    as_media = demo.get(f"/managed/payload/media/{SPACE}/reports/sales/ui_schema.json")
    wrong = upload(demo, SPACE, record("json", "reports/sales", "pic"), "p.png", files.PNG)

    assert as_json.json() == {"status": "success", "attributes": {"title": "ui"}}
    assert (as_media.content, as_media.headers["content-type"]) == (document, "application/json")
    assert as_media.headers["content-disposition"].startswith("attachment;")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (406, 217)


def test_several_ranges_are_answered_up_to_a_cap(demo: Api) -> None:
    content = files.CSV_QUOTED_NEWLINES
    upload(demo, SPACE, record("csv", "reports/sales", "notes"), "n.csv", content)
    url = f"/managed/payload/csv/{SPACE}/reports/sales/notes.csv"

    two = demo.client.get(url, headers={**demo.headers, "range": "bytes=0-1,4-5"})
    many = demo.client.get(url, headers={**demo.headers, "range": "bytes=" + ",".join(f"{i}-{i}" for i in range(9))})

    assert two.status_code == 206
    assert two.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert (many.status_code, many.content) == (200, content)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("bytes=5-2", "The Range header is malformed: Range header: start must be less than end"),
        ("bytes=x-y", "The Range header is malformed: Range header: range must be requested"),
        ("bytes=", "The Range header is malformed: Range header: range must be requested"),
    ],
)
def test_a_malformed_range_is_refused_in_the_envelope(demo: Api, header: str, message: str) -> None:
    upload(demo, SPACE, record("csv", "reports/sales", "notes"), "n.csv", files.CSV_QUOTED_NEWLINES)
    url = f"/managed/payload/csv/{SPACE}/reports/sales/notes.csv"

    answer = demo.client.get(url, headers={**demo.headers, "range": header})

    assert (answer.status_code, answer.headers["content-type"]) == (400, "application/json")
    assert answer.json() == {
        "status": "failed",
        "error": {"type": "request", "code": 400, "message": message, "info": None},
        "records": None,
        "attributes": None,
    }


def test_a_range_past_the_end_is_a_416_in_the_envelope_with_the_size(demo: Api) -> None:
    content = files.CSV_QUOTED_NEWLINES
    upload(demo, SPACE, record("csv", "reports/sales", "notes"), "n.csv", content)
    url = f"/managed/payload/csv/{SPACE}/reports/sales/notes.csv"

    answer = demo.client.get(url, headers={**demo.headers, "range": f"bytes={len(content)}-"})

    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{len(content)}"
    assert answer.json()["error"] == {
        "type": "request",
        "code": 416,
        "message": f"No requested range starts within the file of {len(content)} bytes",
        "info": None,
    }


@pytest.mark.parametrize("header", ["items=0-1", "abc"])
def test_a_range_of_another_unit_is_ignored(demo: Api, header: str) -> None:
    content = files.CSV_QUOTED_NEWLINES
    upload(demo, SPACE, record("csv", "reports/sales", "notes"), "n.csv", content)
    url = f"/managed/payload/csv/{SPACE}/reports/sales/notes.csv"

    answer = demo.client.get(url, headers={**demo.headers, "range": header})

    assert (answer.status_code, answer.content) == (200, content)
