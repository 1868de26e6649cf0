"""What an uploaded file is taken to be: decided from its bytes and extension, never the declared MIME."""

from pathlib import Path
from typing import Any

import pytest

from dmart_attach.config import Settings
from dmart_attach.services import sniffing
from tests.utils import files
from tests.utils.factories import Api, record, upload
from tests.utils.uploads import SPACE, attachment_parents, stored_record, tree_files


@pytest.fixture
def demo(admin: Api) -> Api:
    """A space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    return attachment_parents(admin)


def test_declared_mime_is_ignored(demo: Api, tmp_path: Path) -> None:
    csv = stored_record(
        upload(
            demo,
            SPACE,
            record("csv", "reports/sales", "rows"),
            "export.csv",
            b"region,total\nnorth,10\n",
            mime="application/vnd.ms-excel",
        )
    )
    parquet = stored_record(
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
    before = tree_files(settings.spaces_root)

    answer = upload(demo, SPACE, record("media", "gallery/album1", "photo2"), file_name, content)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert tree_files(settings.spaces_root) == before
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
    stored = stored_record(upload(demo, SPACE, attachment, "payload_file", content))

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
    before = tree_files(settings.spaces_root)

    answer = upload(demo, SPACE, attachment, "payload_file", content)

    assert (answer.status_code, answer.json()["error"]["code"]) == (406, 217), answer.text
    assert tree_files(settings.spaces_root) == before


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
    stored = stored_record(
        upload(demo, SPACE, record("media", "gallery/album1", "m"), file_name, content, mime="text/plain")
    )

    assert stored["attributes"]["payload"]["content_type"] == content_type


def test_data_asset_is_stored_under_the_kind_its_bytes_show(demo: Api, tmp_path: Path, settings: Settings) -> None:
    stored = stored_record(
        upload(demo, SPACE, record("data_asset", "reports/sales", "db1"), "x.db", files.sqlite_database(tmp_path))
    )

    assert stored["resource_type"] == "sqlite"
    assert stored["attributes"]["payload"]["body"] == "db1.sqlite"
    entry_dir = settings.spaces_root / SPACE / "reports" / ".dm" / "sales"
    assert sorted(path.name for path in (entry_dir / "attachments.sqlite").iterdir()) == ["db1.sqlite", "meta.db1.json"]
    assert not (entry_dir / "attachments.dataasset").exists()


def test_json_files_over_their_limit_are_refused(demo: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniffing, "MAX_JSON_SIZE", 10)

    answer = upload(demo, SPACE, record("content", "reports", "big"), "big.json", b'{"a": "0123456789"}')

    assert (answer.status_code, answer.json()["error"]["code"]) == (413, 413)


@pytest.mark.parametrize("depth", [101, 300, 1200])
def test_json_nested_too_deeply_is_refused_and_nothing_is_written(demo: Api, settings: Settings, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    before = tree_files(settings.spaces_root)

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
    assert tree_files(settings.spaces_root) == before
    assert demo.get("/managed/health/demo").json()["attributes"]["healthy"] is True
