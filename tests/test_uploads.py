"""POST /managed/resource_with_payload: the form, where the file goes, and what is refused."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils import files
from tests.utils.factories import Api, record, upload
from tests.utils.uploads import SPACE, attachment_parents, raw_multipart, stored_record, tree_files


@pytest.fixture
def demo(admin: Api) -> Api:
    """A space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    return attachment_parents(admin)


def test_client_file_name_never_chooses_the_path(demo: Api, settings: Settings) -> None:
    stored = stored_record(
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


def test_file_named_only_by_rfc5987_filename_star_is_a_file(demo: Api) -> None:
    body, content_type = raw_multipart(
        record("csv", "reports/sales", "rows"),
        "form-data; name=\"payload_file\"; filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1.csv",
        b"region,total\nnorth,10\n",
    )

    answer = demo.client.post(
        "/managed/resource_with_payload", content=body, headers={**demo.headers, "content-type": content_type}
    )

    assert stored_record(answer)["attributes"]["payload"]["body"] == "rows.csv"


def test_sha_is_checked_and_kept_as_client_checksum(demo: Api) -> None:
    good = hashlib.sha256(files.PNG).hexdigest()

    wrong = upload(demo, SPACE, record("media", "gallery/album1", "p"), "p.png", files.PNG, sha="0" * 64)
    right = stored_record(upload(demo, SPACE, record("media", "gallery/album1", "p"), "p.png", files.PNG, sha=good))

    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, 402)
    assert wrong.json()["error"]["message"] == "The provided file doesn't match the sha"
    assert right["attributes"]["payload"]["client_checksum"] == good


def test_record_as_plain_field_and_payload_without_content_type(demo: Api) -> None:
    attachment = record("media", "gallery/album1", "plain", payload={"body": {}})

    stored = stored_record(upload(demo, SPACE, attachment, "p.png", files.PNG, record_as_field=True))

    assert stored["attributes"]["payload"]["content_type"] == "image_png"


def test_sample_media_request_with_its_logo(demo: Api) -> None:
    demo.create(SPACE, record("folder", "/", "myfolder", is_active=True))
    demo.create(SPACE, record("content", "myfolder", "buyer_123", is_active=True))
    media = json.loads((files.SHARED_REQUESTS / "createmedia.json").read_text())

    stored = stored_record(upload(demo, SPACE, media, "logo.jpeg", files.jpeg(), mime="image/jpeg"))

    assert stored["attributes"]["tags"] == ["fun", "personal"]
    served = demo.get(f"/managed/payload/media/{SPACE}/myfolder/buyer_123/receipt.jpeg")
    assert (served.headers["content-type"], served.content) == ("image/jpeg", files.jpeg())


def test_replacing_a_file_updates_the_meta_and_leaves_one_history_line(demo: Api, settings: Settings) -> None:
    first = stored_record(
        upload(demo, SPACE, record("media", "gallery/album1", "pic", is_active=True), "a.png", files.PNG)
    )
    folder = settings.spaces_root / SPACE / "gallery" / ".dm" / "album1"
    created_lines = (folder / "history.jsonl").read_text().splitlines()

    second = stored_record(
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
    schema = stored_record(
        upload(demo, SPACE, record("schema", "schema", "doc", is_active=True), "doc.json", schema_file)
    )
    assert schema["attributes"]["payload"]["schema_shortname"] == "meta_schema"
    assert schema["attributes"]["payload"]["body"] == {"type": "object", "properties": {"title": {"type": "string"}}}

    entry = record("content", "reports", "page", is_active=True, payload={"schema_shortname": "doc", "body": {}})
    refused = upload(demo, SPACE, entry, "page.json", b'{"title": 5}')
    accepted = stored_record(upload(demo, SPACE, entry, "page.json", b'{"title": "five"}'))
    image = stored_record(upload(demo, SPACE, record("content", "reports", "poster"), "poster.png", files.PNG))

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
    before = tree_files(empty_spaces)
    big = b"a,b\n" + b"1,2\n" * 300
    declared = upload(small_limit, SPACE, record("csv", "gallery/album1", "big"), "big.csv", big)

    body, content_type = raw_multipart(
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
    assert tree_files(empty_spaces) == before


def _pieces(body: bytes, sizes: list[int]) -> Iterator[bytes]:
    """The body in pieces of the given sizes, in turn, as a client streaming it would send them."""
    start, turn = 0, 0
    while start < len(body):
        size = sizes[turn % len(sizes)]
        yield body[start : start + size]
        start, turn = start + size, turn + 1


# Pieces of one byte up to more than two batches of the reader at once.
ODD_PIECES = [1, 4_096, 1_500_000, 65_537, 2_500_000, 300_001]


def test_a_file_of_several_batches_in_odd_pieces_is_stored_whole(demo: Api, settings: Settings) -> None:
    content = files.PNG + bytes(range(256)) * 14_000
    body, content_type = raw_multipart(
        record("media", "gallery/album1", "big"), 'form-data; name="payload_file"; filename="big.png"', content
    )

    answer = demo.client.post(
        "/managed/resource_with_payload",
        content=_pieces(body, ODD_PIECES),
        headers={**demo.headers, "content-type": content_type},
    )

    payload = stored_record(answer)["attributes"]["payload"]
    assert (payload["content_type"], payload["checksum"]) == ("image_png", hashlib.sha256(content).hexdigest())
    stored = settings.spaces_root / SPACE / "gallery" / ".dm" / "album1" / "attachments.media" / "big.png"
    assert stored.read_bytes() == content


def test_a_streamed_file_is_refused_once_past_the_limit(empty_spaces: Path) -> None:
    settings = make_settings(empty_spaces, max_upload_size=2_000_000)
    with TestClient(create_app(settings)) as client:
        api = attachment_parents(Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD)))
        before = tree_files(empty_spaces)
        body, content_type = raw_multipart(
            record("media", "gallery/album1", "big"),
            'form-data; name="payload_file"; filename="big.png"',
            files.PNG + bytes(2_000_000),
        )

        answer = api.client.post(
            "/managed/resource_with_payload",
            content=_pieces(body, ODD_PIECES),
            headers={**api.headers, "content-type": content_type},
        )

    assert (answer.status_code, answer.json()["error"]["code"]) == (413, 413)
    assert answer.json()["error"]["message"] == "The payload file is larger than the limit of 2000000 bytes"
    assert tree_files(empty_spaces) == before


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

    assert stored_record(answer)["subpath"] == "top"
    stored = settings.spaces_root / SPACE / ".dm" / "top" / "attachments.media" / "pic.png"
    assert stored.read_bytes() == files.PNG
    assert not list(settings.spaces_root.rglob(".~tmp*"))


def test_openapi_declares_the_upload_form(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    form = schema["paths"]["/managed/resource_with_payload"]["post"]["requestBody"]["content"]
    assert form["multipart/form-data"]["schema"]["required"] == ["space_name", "request_record", "payload_file"]


def test_folders_take_attachments_too(demo: Api, settings: Settings) -> None:
    stored = stored_record(upload(demo, SPACE, record("media", "gallery", "cover"), "c.png", files.PNG))

    assert stored["subpath"] == "gallery"
    assert (
        settings.spaces_root / SPACE / ".dm" / "gallery" / "attachments.media" / "cover.png"
    ).read_bytes() == files.PNG


@pytest.mark.parametrize(
    ("content_type", "cut"),
    [("multipart/form-data; boundary=dmartboundary", 25), ("application/json", 0)],
    ids=["cut-short", "not-multipart"],
)
def test_bodies_that_are_not_a_whole_form_are_refused(
    demo: Api, settings: Settings, content_type: str, cut: int
) -> None:
    body, _ = raw_multipart(
        record("csv", "reports/sales", "rows"),
        'form-data; name="payload_file"; filename="r.csv"',
        b"a,b\n" + b"1,2\n" * 300_000,
    )
    before = tree_files(settings.spaces_root)

    answer = demo.client.post(
        "/managed/resource_with_payload",
        content=body[:-cut] if cut else body,
        headers={**demo.headers, "content-type": content_type},
    )

    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 402)
    assert tree_files(settings.spaces_root) == before


def test_request_update_of_an_uploaded_asset_keeps_its_file_and_description(demo: Api) -> None:
    stored = stored_record(upload(demo, SPACE, record("csv", "reports/sales", "rows"), "r.csv", b"a\n1\n"))

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
