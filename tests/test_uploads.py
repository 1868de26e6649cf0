"""POST /managed/resource_with_payload: files streamed, recognised, checked and stored with their meta."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from dmart_attach.services import sniffing
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils import files
from tests.utils.factories import Api, json_payload, record, upload

SPACE = "demo"


def _tree_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def demo(admin: Api) -> Api:
    """A space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    admin.space(SPACE, "reports", "gallery")
    admin.create(SPACE, record("content", "reports", "sales", is_active=True))
    admin.create(SPACE, record("content", "gallery", "album1", is_active=True))
    return admin


def _stored(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    stored: dict[str, Any] = answer.json()["records"][0]
    return stored


def test_users_example_csv_with_auto_shortname_and_schema(demo: Api, settings: Settings) -> None:
    users = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string", "minLength": 2}},
        "required": ["id", "name"],
    }
    demo.create(SPACE, record("schema", "schema", "users", is_active=True, payload=json_payload(users)))
    request_record = record(
        "csv",
        "reports/sales",
        "auto",
        is_active=True,
        payload={"content_type": "csv", "schema_shortname": "users", "body": {}},
    )

    stored = _stored(upload(demo, SPACE, request_record, "people.csv", b"id,name\n1,alpha\n2,beta\n", mime="text/csv"))

    shortname = stored["shortname"]
    assert len(shortname) == 8
    assert stored["uuid"].startswith(shortname)
    assert (stored["attributes"]["uuid"], stored["attributes"]["shortname"]) == (stored["uuid"], shortname)
    assert stored["subpath"] == "reports/sales"
    assert stored["attributes"]["payload"] == {
        "content_type": "csv",
        "schema_shortname": "users",
        "checksum": hashlib.sha256(b"id,name\n1,alpha\n2,beta\n").hexdigest(),
        "body": f"{shortname}.csv",
        "columns": [{"name": "id", "type": "BIGINT"}, {"name": "name", "type": "VARCHAR"}],
        "row_count": 2,
    }

    before = _tree_files(settings.spaces_root)
    refused = upload(demo, SPACE, request_record, "people.csv", b"id,name\n1,alpha\nx,beta\n3,c\n", mime="text/csv")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("validation", 422)
    assert error["info"] == [
        {"loc": [3, "id"], "msg": "'x' is not of type 'integer'"},
        {"loc": [4, "name"], "msg": "'c' is too short"},
    ]
    assert _tree_files(settings.spaces_root) == before


def test_jsonl_rows_are_validated_with_their_line_numbers(demo: Api) -> None:
    demo.create(
        SPACE,
        record("schema", "schema", "row", is_active=True, payload=json_payload({"type": "object", "required": ["id"]})),
    )
    request_record = record("jsonl", "reports/sales", "rows", payload={"schema_shortname": "row", "body": {}})

    refused = upload(demo, SPACE, request_record, "rows.jsonl", b'{"id": 1}\n\n{"name": "x"}\n')

    assert refused.status_code == 400
    assert refused.json()["error"]["info"] == [{"loc": [3, "id"], "msg": "'id' is a required property"}]


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
    stored = _stored(
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


def test_data_assets_record_columns_types_and_row_counts(demo: Api, tmp_path: Path) -> None:
    def described(resource_type: str, name: str, content: bytes) -> dict[str, Any]:
        attachment = record(resource_type, "reports/sales", name.replace(".", "_"), is_active=True)
        payload: dict[str, Any] = _stored(upload(demo, SPACE, attachment, name, content))["attributes"]["payload"]
        return {key: payload[key] for key in ("columns", "row_count", "tables") if key in payload}

    assert described("csv", "bom.csv", files.CSV_BOM_SEMICOLONS) == {
        "columns": [
            {"name": "id", "type": "BIGINT"},
            {"name": "name", "type": "VARCHAR"},
            {"name": "score", "type": "DOUBLE"},
        ],
        "row_count": 2,
    }
    assert described("csv", "quoted.csv", files.CSV_QUOTED_NEWLINES)["row_count"] == 2
    assert described("jsonl", "mixed.jsonl", files.JSONL_MIXED_KEYS) == {
        "columns": [
            {"name": "id", "type": "BIGINT"},
            {"name": "name", "type": "VARCHAR"},
            {"name": "tags", "type": "VARCHAR[]"},
            {"name": "ok", "type": "BOOLEAN"},
        ],
        "row_count": 3,
    }
    assert described("parquet", "p.parquet", files.parquet(tmp_path)) == {
        "columns": [
            {"name": "id", "type": "INTEGER"},
            {"name": "seen", "type": "TIMESTAMP"},
            {"name": "marks", "type": "INTEGER[]"},
        ],
        "row_count": 2,
    }
    assert described("duckdb", "d.duckdb", files.duckdb_database(tmp_path)) == {
        "tables": [
            {
                "name": "people",
                "columns": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "VARCHAR"}],
                "row_count": 2,
            }
        ]
    }
    assert described("sqlite", "s.sqlite", files.sqlite_database(tmp_path)) == {
        "tables": [
            {
                "name": "scores",
                "columns": [{"name": "id", "type": "INTEGER"}, {"name": "score", "type": "REAL"}],
                "row_count": 3,
            }
        ]
    }


LATE_TEXT_CSV = "a,b\n" + "".join(f"{n},{n}\n" for n in range(30_000)) + "oops,x\n"
LATE_TEXT_JSONL = "".join(json.dumps({"a": n, "gone": None}) + "\n" for n in range(30_000)) + '{"a": "oops"}\n'


@pytest.mark.parametrize(
    ("kind", "content", "columns", "query", "rows"),
    [
        (
            "csv",
            LATE_TEXT_CSV,
            [{"name": "a", "type": "VARCHAR"}, {"name": "b", "type": "VARCHAR"}],
            "SELECT count(*) AS n, sum(TRY_CAST(a AS BIGINT)) AS total, max(b) AS last FROM file WHERE a <> 'oops'",
            [{"n": 30_000, "total": 449_985_000, "last": "9999"}],
        ),
        (
            "jsonl",
            LATE_TEXT_JSONL,
            [{"name": "a", "type": "JSON"}, {"name": "gone", "type": "NULL"}],
            "SELECT count(*) AS n, count(gone) AS gone, count(*) FILTER (json_type(a) = 'VARCHAR') AS text FROM late",
            [{"n": 30_001, "gone": 0, "text": 1}],
        ),
    ],
)
def test_column_types_come_from_every_row_and_queries_read_with_them(
    demo: Api, kind: str, content: str, columns: list[dict[str, str]], query: str, rows: list[dict[str, Any]]
) -> None:
    """A value unlike the first 30 000 rows still counts: no later query fails on converting it."""
    attachment = record(kind, "reports/sales", "late", is_active=True)
    payload = _stored(upload(demo, SPACE, attachment, f"late.{kind}", content.encode()))["attributes"]["payload"]
    every_row = {"space_name": SPACE, "subpath": "reports", "shortname": "sales", "data_asset_type": kind}

    answer = demo.client.post("/managed/data-asset", json={**every_row, "query_string": query}, headers=demo.headers)
    listed = demo.client.post(
        "/managed/data-asset", json={**every_row, "query_string": "SELECT * FROM file"}, headers=demo.headers
    )

    assert (payload["columns"], payload["row_count"]) == (columns, 30_001)
    assert answer.status_code == 200, answer.text
    assert answer.json()["attributes"]["rows"] == rows
    assert listed.status_code == 200, listed.text
    assert listed.json()["attributes"]["columns"] == columns


def test_data_asset_is_stored_under_the_kind_its_bytes_show(demo: Api, tmp_path: Path, settings: Settings) -> None:
    stored = _stored(
        upload(demo, SPACE, record("data_asset", "reports/sales", "db1"), "x.db", files.sqlite_database(tmp_path))
    )

    assert stored["resource_type"] == "sqlite"
    assert stored["attributes"]["payload"]["body"] == "db1.sqlite"
    entry_dir = settings.spaces_root / SPACE / "reports" / ".dm" / "sales"
    assert sorted(path.name for path in (entry_dir / "attachments.sqlite").iterdir()) == ["db1.sqlite", "meta.db1.json"]
    assert not (entry_dir / "attachments.dataasset").exists()


def test_declared_mime_is_ignored(demo: Api, tmp_path: Path) -> None:
    csv = _stored(
        upload(
            demo,
            SPACE,
            record("csv", "reports/sales", "rows"),
            "export.csv",
            b"region,total\nnorth,10\n",
            mime="application/vnd.ms-excel",
        )
    )
    parquet = _stored(
        upload(
            demo,
            SPACE,
            record("parquet", "reports/sales", "pq"),
            "t.parquet",
            files.parquet(tmp_path),
            mime="text/plain",
        )
    )

    assert csv["attributes"]["payload"]["content_type"] == "csv"
    assert parquet["attributes"]["payload"]["content_type"] == "parquet"


def test_upper_case_extension_is_stored_lower_case(demo: Api) -> None:
    upload(
        demo,
        SPACE,
        record("media", "gallery/album1", "photo1", is_active=True),
        "SCAN_0001.PNG",
        files.PNG,
        mime="image/png",
    )

    entry = demo.get(f"/managed/entry/media/{SPACE}/gallery/album1/photo1").json()
    assert (entry["payload"]["content_type"], entry["payload"]["body"]) == ("image_png", "photo1.png")
    assert demo.get(f"/managed/payload/media/{SPACE}/gallery/album1/photo1.png").content == files.PNG


def test_client_file_name_never_chooses_the_path(demo: Api, settings: Settings) -> None:
    stored = _stored(
        upload(
            demo,
            SPACE,
            record("csv", "reports/sales", "rows"),
            "../../../../../dmart_attach_escape.csv",
            b"region,total\nnorth,10\n",
            mime="text/csv",
        )
    )

    assert stored["attributes"]["payload"]["body"] == "rows.csv"
    assert demo.get(f"/managed/payload/csv/{SPACE}/reports/sales/rows.csv").text == "region,total\nnorth,10\n"
    assert not list(settings.spaces_root.parent.rglob("dmart_attach_escape*"))


def _raw_multipart(record_json: dict[str, Any], disposition: str, content: bytes) -> tuple[bytes, str]:
    boundary = "dmartboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="space_name"\r\n\r\n{SPACE}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="request_record"; filename="record.json"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(record_json)}\r\n"
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_file_named_only_by_rfc5987_filename_star_is_a_file(demo: Api) -> None:
    body, content_type = _raw_multipart(
        record("csv", "reports/sales", "rows"),
        "form-data; name=\"payload_file\"; filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1.csv",
        b"region,total\nnorth,10\n",
    )

    answer = demo.client.post(
        "/managed/resource_with_payload", content=body, headers={**demo.headers, "content-type": content_type}
    )

    assert _stored(answer)["attributes"]["payload"]["body"] == "rows.csv"


@pytest.mark.parametrize(
    ("file_name", "content", "status", "code"),
    [
        ("", b"abc", 400, 402),
        (None, b"abc", 400, 402),
        ("blank.png", b"", 400, 402),
        ("photo.png", files.PDF, 406, 217),
        ("photo.exe", files.PNG, 400, 402),
        ("photo.docx", b"PK\x03\x04" + b"\x00" * 40, 406, 217),
        ("notes.json", b"{not json", 406, 217),
        # RFC 8259 has no NaN or infinities; Python's parser takes them, and nothing could answer them back.
        ("notes.json", b'{"ratio": NaN}', 406, 217),
        ("notes.json", b'{"limit": [-Infinity]}', 406, 217),
        ("notes.json", b'{"huge": 1e999}', 406, 217),
    ],
    ids=[
        "empty-name",
        "no-name",
        "zero-bytes",
        "png-name-pdf-bytes",
        "bad-extension",
        "office",
        "broken-json",
        "nan-json",
        "infinity-json",
        "overflowing-json",
    ],
)
def test_refused_uploads_leave_nothing_on_disk(
    demo: Api, settings: Settings, file_name: str | None, content: bytes, status: int, code: int
) -> None:
    before = _tree_files(settings.spaces_root)

    answer = upload(demo, SPACE, record("media", "gallery/album1", "photo2"), file_name, content)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert _tree_files(settings.spaces_root) == before
    missing = demo.get(f"/managed/entry/media/{SPACE}/gallery/album1/photo2")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 220)


@pytest.mark.parametrize(
    ("attachment", "content", "content_type", "extension"),
    [
        (record("media", "gallery/album1", "pixel"), files.PNG, "image_png", "png"),
        (record("media", "gallery/album1", "pixel", payload={"content_type": "image"}), files.PNG, "image_png", "png"),
        (record("media", "gallery/album1", "scan"), files.PDF, "pdf", "pdf"),
        (record("csv", "reports/sales", "rows"), b"region,total\nnorth,10\n", "csv", "csv"),
        (record("media", "gallery/album1", "rows", payload={"content_type": "csv"}), b"a,b\n1,2\n", "csv", "csv"),
        (record("json", "reports/sales", "doc"), b'{"a": 1}', "json", "json"),
    ],
    ids=["png", "png-declared-image", "pdf", "csv-resource", "csv-declared", "json-resource"],
)
def test_file_name_without_extension_is_what_its_bytes_or_record_say(
    demo: Api, attachment: dict[str, Any], content: bytes, content_type: str, extension: str
) -> None:
    """Clients name an in-memory file after its form field; the bytes, or the record's text format, decide."""
    stored = _stored(upload(demo, SPACE, attachment, "payload_file", content))

    payload = stored["attributes"]["payload"]
    file_name = f"{attachment['shortname']}.{extension}"
    assert payload["content_type"] == content_type
    served = demo.get(f"/managed/payload/{stored['resource_type']}/{SPACE}/{attachment['subpath']}/{file_name}")
    if content_type == "json":
        assert payload["body"] == served.json()["attributes"] == {"a": 1}
    else:
        assert (payload["body"], served.content) == (file_name, content)


@pytest.mark.parametrize(
    ("attachment", "content"),
    [
        (record("media", "gallery/album1", "notes"), b"region,total\nnorth,10\n"),
        (record("csv", "reports/sales", "rows"), b"\x00\x01binary"),
        (record("json", "reports/sales", "doc"), b"{not json"),
        (record("media", "gallery/album1", "page", payload={"content_type": "markdown"}), b"# title\n"),
    ],
    ids=["text-without-a-declared-kind", "binary-declared-csv", "broken-json", "markdown"],
)
def test_file_name_without_extension_and_no_type_is_refused(
    demo: Api, settings: Settings, attachment: dict[str, Any], content: bytes
) -> None:
    before = _tree_files(settings.spaces_root)

    answer = upload(demo, SPACE, attachment, "payload_file", content)

    assert (answer.status_code, answer.json()["error"]["code"]) == (406, 217), answer.text
    assert _tree_files(settings.spaces_root) == before


def test_sha_is_checked_and_kept_as_client_checksum(demo: Api) -> None:
    good = hashlib.sha256(files.PNG).hexdigest()

    wrong = upload(demo, SPACE, record("media", "gallery/album1", "p"), "p.png", files.PNG, sha="0" * 64)
    right = _stored(upload(demo, SPACE, record("media", "gallery/album1", "p"), "p.png", files.PNG, sha=good))

    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, 402)
    assert wrong.json()["error"]["message"] == "The provided file doesn't match the sha"
    assert right["attributes"]["payload"]["client_checksum"] == good


def test_record_as_plain_field_and_payload_without_content_type(demo: Api) -> None:
    attachment = record("media", "gallery/album1", "plain", payload={"body": {}})

    stored = _stored(upload(demo, SPACE, attachment, "p.png", files.PNG, record_as_field=True))

    assert stored["attributes"]["payload"]["content_type"] == "image_png"


def test_sample_media_request_with_its_logo(demo: Api) -> None:
    demo.create(SPACE, record("folder", "/", "myfolder", is_active=True))
    demo.create(SPACE, record("content", "myfolder", "buyer_123", is_active=True))
    media = json.loads((files.SHARED_REQUESTS / "createmedia.json").read_text())

    stored = _stored(upload(demo, SPACE, media, "logo.jpeg", files.jpeg(), mime="image/jpeg"))

    assert stored["attributes"]["tags"] == ["fun", "personal"]
    served = demo.get(f"/managed/payload/media/{SPACE}/myfolder/buyer_123/receipt.jpeg")
    assert (served.headers["content-type"], served.content) == ("image/jpeg", files.jpeg())


def test_replacing_a_file_updates_the_meta_and_leaves_one_history_line(demo: Api, settings: Settings) -> None:
    first = _stored(upload(demo, SPACE, record("media", "gallery/album1", "pic", is_active=True), "a.png", files.PNG))
    folder = settings.spaces_root / SPACE / "gallery" / ".dm" / "album1"
    created_lines = (folder / "history.jsonl").read_text().splitlines()

    second = _stored(
        upload(demo, SPACE, record("media", "gallery/album1", "pic", is_active=True), "b.jpg", files.jpeg())
    )

    payload = second["attributes"]["payload"]
    assert (payload["content_type"], payload["body"]) == ("image_jpeg", "pic.jpg")
    assert payload["checksum"] == hashlib.sha256(files.jpeg()).hexdigest()
    assert second["uuid"] == first["uuid"]
    assert second["attributes"]["updated_at"] > first["attributes"]["updated_at"]
    assert sorted(path.name for path in (folder / "attachments.media").iterdir()) == ["meta.pic.json", "pic.jpg"]
    lines = (folder / "history.jsonl").read_text().splitlines()
    assert len(lines) == len(created_lines) + 1
    diff = json.loads(lines[-1])["diff"]
    assert diff["payload.body"] == {"old": "pic.png", "new": "pic.jpg"}
    assert diff["payload.content_type"] == {"old": "image_png", "new": "image_jpeg"}


def test_entries_take_file_payloads_and_json_files_are_validated(demo: Api) -> None:
    schema_file = json.dumps({"type": "object", "properties": {"title": {"type": "string"}}}).encode()
    schema = _stored(upload(demo, SPACE, record("schema", "schema", "doc", is_active=True), "doc.json", schema_file))
    assert schema["attributes"]["payload"]["schema_shortname"] == "meta_schema"
    assert schema["attributes"]["payload"]["body"] == {"type": "object", "properties": {"title": {"type": "string"}}}

    entry = record("content", "reports", "page", is_active=True, payload={"schema_shortname": "doc", "body": {}})
    refused = upload(demo, SPACE, entry, "page.json", b'{"title": 5}')
    accepted = _stored(upload(demo, SPACE, entry, "page.json", b'{"title": "five"}'))
    image = _stored(upload(demo, SPACE, record("content", "reports", "poster"), "poster.png", files.PNG))

    assert (refused.status_code, refused.json()["error"]["code"]) == (400, 422)
    assert accepted["attributes"]["payload"]["body"] == {"title": "five"}
    assert demo.get(f"/managed/payload/content/{SPACE}/reports/page.json").json() == {
        "status": "success",
        "attributes": {"title": "five"},
    }
    assert demo.get(f"/managed/payload/content/{SPACE}/reports/poster.png").content == files.PNG
    assert image["attributes"]["payload"]["body"] == "poster.png"


def test_attachment_needs_its_parent_and_an_uploadable_type(demo: Api) -> None:
    orphan = upload(demo, SPACE, record("media", "gallery/nobody", "p"), "p.png", files.PNG)
    folder = upload(demo, SPACE, record("folder", "/", "f"), "p.png", files.PNG)
    space = upload(demo, "nowhere", record("media", "gallery/album1", "p"), "p.png", files.PNG)

    assert (orphan.status_code, orphan.json()["error"]["code"]) == (404, 220)
    assert (folder.status_code, folder.json()["error"]["code"]) == (400, 219)
    assert (space.status_code, space.json()["error"]["code"]) == (400, 203)


def test_entry_lists_media_and_data_assets_grouped_with_their_payload_meta(demo: Api) -> None:
    upload(demo, SPACE, record("media", "reports/sales", "chart"), "c.png", files.PNG)
    upload(demo, SPACE, record("csv", "reports/sales", "rows"), "r.csv", b"a\n1\n")

    entry = demo.get(f"/managed/entry/content/{SPACE}/reports/sales", retrieve_attachments=True).json()

    assert sorted(entry["attachments"]) == ["csv", "media"]
    assert entry["attachments"]["media"][0]["attributes"]["payload"]["body"] == "chart.png"
    assert entry["attachments"]["csv"][0]["attributes"]["payload"]["row_count"] == 1


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


@pytest.fixture
def small_limit(empty_spaces: Path) -> Iterator[Api]:
    """A service that takes uploads of at most 1000 bytes."""
    settings = make_settings(empty_spaces, max_upload_size=1000)
    with TestClient(create_app(settings)) as client:
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        api.space(SPACE, "gallery")
        api.create(SPACE, record("content", "gallery", "album1", is_active=True))
        yield api


def test_too_large_is_refused_with_and_without_content_length(small_limit: Api, empty_spaces: Path) -> None:
    before = _tree_files(empty_spaces)
    big = b"a,b\n" + b"1,2\n" * 300
    declared = upload(small_limit, SPACE, record("csv", "gallery/album1", "big"), "big.csv", big)

    body, content_type = _raw_multipart(
        record("csv", "gallery/album1", "big"), 'form-data; name="payload_file"; filename="big.csv"', big
    )
    chunked = small_limit.client.post(
        "/managed/resource_with_payload",
        content=iter([body[:500], body[500:]]),
        headers={**small_limit.headers, "content-type": content_type},
    )

    for answer in (declared, chunked):
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == 413
    assert _tree_files(empty_spaces) == before


def test_bom_is_not_part_of_the_first_column_when_rows_are_validated(demo: Api) -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "score": {"type": "number"}},
        "required": ["id"],
    }
    demo.create(SPACE, record("schema", "schema", "scored", is_active=True, payload=json_payload(schema)))
    attachment = record("csv", "reports/sales", "people", payload={"schema_shortname": "scored", "body": {}})

    stored = _stored(upload(demo, SPACE, attachment, "people.csv", files.CSV_BOM_SEMICOLONS))

    assert stored["attributes"]["payload"]["columns"][0] == {"name": "id", "type": "BIGINT"}


def test_meta_without_checksum_gets_an_etag_from_the_file(demo: Api, settings: Settings) -> None:
    upload(demo, SPACE, record("media", "gallery/album1", "old"), "old.png", files.PNG)
    meta_path = settings.spaces_root / SPACE / "gallery/.dm/album1/attachments.media/meta.old.json"
    meta = json.loads(meta_path.read_text())
    del meta["payload"]["checksum"]
    meta_path.write_text(json.dumps(meta))

    served = demo.get(f"/managed/payload/media/{SPACE}/gallery/album1/old.png")

    assert served.headers["etag"] == f'"{hashlib.sha256(files.PNG).hexdigest()}"'


def test_file_part_before_the_record_and_a_parent_at_the_root(demo: Api, settings: Settings) -> None:
    demo.create(SPACE, record("content", "/", "top", is_active=True))
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="payload_file"; filename="t.png"\r\n\r\n'.encode()
        + files.PNG
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="space_name"\r\n\r\n{SPACE}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="request_record"\r\n\r\n'
            f"{json.dumps(record('media', 'top', 'pic'))}\r\n--{boundary}--\r\n"
        ).encode()
    )

    answer = demo.client.post(
        "/managed/resource_with_payload",
        content=body,
        headers={**demo.headers, "content-type": f"multipart/form-data; boundary={boundary}"},
    )

    assert _stored(answer)["subpath"] == "top"
    stored = settings.spaces_root / SPACE / ".dm" / "top" / "attachments.media" / "pic.png"
    assert stored.read_bytes() == files.PNG
    assert not list(settings.spaces_root.rglob(".~tmp*"))


def test_openapi_declares_the_upload_form(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    form = schema["paths"]["/managed/resource_with_payload"]["post"]["requestBody"]["content"]
    assert form["multipart/form-data"]["schema"]["required"] == ["space_name", "request_record", "payload_file"]


@pytest.mark.parametrize(
    ("file_name", "content", "content_type"),
    [
        ("song.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64, "audio"),
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64, "video"),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00" + b"\x00" * 32, "image_gif"),
    ],
)
def test_audio_video_and_gif_are_recognised_by_their_bytes(
    demo: Api, file_name: str, content: bytes, content_type: str
) -> None:
    stored = _stored(upload(demo, SPACE, record("media", "gallery/album1", "m"), file_name, content, mime="text/plain"))

    assert stored["attributes"]["payload"]["content_type"] == content_type


def test_folders_take_attachments_too(demo: Api, settings: Settings) -> None:
    stored = _stored(upload(demo, SPACE, record("media", "gallery", "cover"), "c.png", files.PNG))

    assert stored["subpath"] == "gallery"
    assert (
        settings.spaces_root / SPACE / ".dm" / "gallery" / "attachments.media" / "cover.png"
    ).read_bytes() == files.PNG


def test_openapi_declares_raw_payload_answers(client: TestClient) -> None:
    answers = client.get("/openapi.json").json()["paths"]
    payload = answers["/managed/payload/{resource_type}/{space_name}/{subpath}/{file_name}"]["get"]["responses"]
    assert payload["200"]["content"]["*/*"]["schema"] == {"type": "string", "format": "binary"}
    assert {"206", "304", "416"} <= set(payload)


def test_json_files_over_their_limit_are_refused(demo: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniffing, "MAX_JSON_SIZE", 10)

    answer = upload(demo, SPACE, record("content", "reports", "big"), "big.json", b'{"a": "0123456789"}')

    assert (answer.status_code, answer.json()["error"]["code"]) == (413, 413)


@pytest.mark.parametrize(
    ("content_type", "cut"),
    [("multipart/form-data; boundary=dmartboundary", 25), ("application/json", 0)],
    ids=["cut-short", "not-multipart"],
)
def test_bodies_that_are_not_a_whole_form_are_refused(
    demo: Api, settings: Settings, content_type: str, cut: int
) -> None:
    body, _ = _raw_multipart(
        record("csv", "reports/sales", "rows"),
        'form-data; name="payload_file"; filename="r.csv"',
        b"a,b\n" + b"1,2\n" * 300_000,
    )
    before = _tree_files(settings.spaces_root)

    answer = demo.client.post(
        "/managed/resource_with_payload",
        content=body[:-cut] if cut else body,
        headers={**demo.headers, "content-type": content_type},
    )

    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 402)
    assert _tree_files(settings.spaces_root) == before


def test_replaced_file_is_checked_against_the_schema_it_already_had(demo: Api) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    demo.create(SPACE, record("schema", "schema", "counts", is_active=True, payload=json_payload(schema)))
    with_schema = record("csv", "reports/sales", "counts", payload={"schema_shortname": "counts", "body": {}})
    _stored(upload(demo, SPACE, with_schema, "c.csv", b"n\n1\n"))

    refused = upload(demo, SPACE, record("csv", "reports/sales", "counts"), "c.csv", b"n\nx\n")

    assert (refused.status_code, refused.json()["error"]["info"]) == (
        400,
        [{"loc": [2, "n"], "msg": "'x' is not of type 'integer'"}],
    )
    kept = demo.get(f"/managed/payload/csv/{SPACE}/reports/sales/counts.csv")
    assert kept.text == "n\n1\n"


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


def test_request_update_of_an_uploaded_asset_keeps_its_file_and_description(demo: Api) -> None:
    stored = _stored(upload(demo, SPACE, record("csv", "reports/sales", "rows"), "r.csv", b"a\n1\n"))

    answer = demo.request(SPACE, "update", record("csv", "reports/sales", "rows", tags=["q1"]))

    assert answer.status_code == 200, answer.text
    updated = answer.json()["records"][0]["attributes"]
    assert updated["tags"] == ["q1"]
    assert updated["payload"] == stored["attributes"]["payload"]
    assert demo.get(f"/managed/payload/csv/{SPACE}/reports/sales/rows.csv").text == "a\n1\n"


def test_deleting_an_uploaded_attachment_removes_its_file(demo: Api, settings: Settings) -> None:
    upload(demo, SPACE, record("media", "gallery/album1", "gone"), "g.png", files.PNG)

    answer = demo.request(SPACE, "delete", record("media", "gallery/album1", "gone"))

    assert answer.status_code == 200, answer.text
    assert not (settings.spaces_root / SPACE / "gallery/.dm/album1/attachments.media").exists()


def test_csv_with_a_huge_cell_passes_the_row_check(demo: Api) -> None:
    demo.create(SPACE, record("schema", "schema", "any_row", is_active=True, payload=json_payload({"type": "object"})))
    huge_cell = b"a,b\n1," + b"x" * 200_000 + b"\n"
    attachment = record("csv", "reports/sales", "wide", payload={"schema_shortname": "any_row", "body": {}})

    stored = _stored(upload(demo, SPACE, attachment, "w.csv", huge_cell))

    assert stored["attributes"]["payload"]["row_count"] == 1


@pytest.mark.parametrize(
    ("kind", "file_name", "content", "expected"),
    [
        ("jsonl", "rows.jsonl", b'{"a": 1}\nnot json\n', 'Malformed JSON in file "payload_file"'),
        ("parquet", "t.parquet", b"PAR1" + b"\x00" * 64, "No magic bytes found at end of file 'payload_file'"),
        ("duckdb", "d.duckdb", b"", 'Could not read enough bytes from file "payload_file"'),
    ],
    ids=["jsonl", "parquet", "truncated-duckdb"],
)
def test_unreadable_data_asset_refusals_do_not_show_server_paths(
    demo: Api, settings: Settings, tmp_path: Path, kind: str, file_name: str, content: bytes, expected: str
) -> None:
    content = content or files.duckdb_database(tmp_path)[:5000]

    answer = upload(demo, SPACE, record(kind, "reports/sales", "broken"), file_name, content)

    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert message.startswith(f"The file does not open as {kind}: ")
    assert expected in message
    assert str(settings.spaces_root) not in message
    assert ".~tmp" not in message


@pytest.mark.parametrize("depth", [101, 300, 1200])
def test_json_nested_too_deeply_is_refused_and_nothing_is_written(demo: Api, settings: Settings, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    before = _tree_files(settings.spaces_root)

    uploaded = upload(demo, SPACE, record("content", "reports", "deep"), "deep.json", ('{"x": ' + deep + "}").encode())
    requested = demo.client.post(
        "/managed/request",
        content=(
            '{"space_name": "demo", "request_type": "create", "records": [{"resource_type": "content", '
            '"subpath": "reports", "shortname": "deep", "attributes": {"payload": {"content_type": "json", '
            f'"body": {{"x": {deep}}}}}}}}}]}}'
        ).encode(),
        headers={**demo.headers, "content-type": "application/json"},
    )

    assert (uploaded.status_code, uploaded.json()["error"]["code"]) == (406, 217)
    assert requested.status_code == 422, requested.text
    [refusal] = requested.json()["error"]["info"]
    if depth == 101:
        assert refusal["msg"] == "Value error, JSON may be nested at most 100 levels deep"
    else:
        assert refusal["type"] == "json_invalid"
    assert _tree_files(settings.spaces_root) == before
    assert demo.get("/managed/health/demo").json()["attributes"]["healthy"] is True
