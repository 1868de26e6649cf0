"""What a create writes on disk: the files of contract §5, with the bytes Dmart would read."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import PydanticSerializationError

from dmart_attach.config import Settings
from dmart_attach.models.core import Payload, Translation
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.models.registry import meta_class
from dmart_attach.storage.layout import Address
from dmart_attach.storage.tree import Tree
from tests.utils.factories import Api, json_payload, record

SPACE = "shop"
GOLDEN_004_BODY = {"title": "Hello goldens", "views": 1, "tags": ["a", "b"], "nested": {"ok": True}}
GOLDEN_004_CHECKSUM = "493a819c6f9f1820bb71936a2015c88f67d742dbe75dca2e41014beb2aec3012"


@pytest.fixture
def root(admin: Api, settings: Settings) -> Path:
    """The space `shop` with folder `products` and entry `laptop`; answers the space's folder."""
    admin.space(SPACE, "products")
    admin.create(SPACE, record("content", "products", "laptop", is_active=True, payload=json_payload(GOLDEN_004_BODY)))
    return settings.spaces_root / SPACE


def meta_of(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    loaded: dict[str, Any] = json.loads(raw)
    assert raw == json.dumps(loaded, separators=(",", ":"), ensure_ascii=False).encode(), "meta is not compact"
    assert None not in loaded.values(), "meta keeps nulls"
    return loaded


def test_space_and_folder_metas(root: Path) -> None:
    space = meta_of(root / ".dm" / "meta.space.json")
    folder = meta_of(root / "products" / ".dm" / "meta.folder.json")

    assert space["shortname"] == SPACE and space["is_active"] is True and space["indexing_enabled"] is True
    assert space["active_plugins"] == ["action_log", "redis_db_update", "resource_folders_creation"]
    assert (root / "schema" / ".dm" / "meta.folder.json").is_file()
    assert folder["shortname"] == "products"
    assert list(folder)[:4] == ["uuid", "shortname", "is_active", "tags"]


def test_content_meta_and_payload_file(root: Path) -> None:
    meta = meta_of(root / "products" / ".dm" / "laptop" / "meta.content.json")
    payload_file = root / "products" / "laptop.json"

    assert meta["payload"] == {"content_type": "json", "checksum": GOLDEN_004_CHECKSUM, "body": "laptop.json"}
    assert payload_file.read_bytes() == json.dumps(GOLDEN_004_BODY).encode()
    assert hashlib.sha256(payload_file.read_bytes()).hexdigest() == GOLDEN_004_CHECKSUM
    assert meta["owner_shortname"] == "dmart"
    assert len(meta["created_at"]) == len("2024-05-01T10:00:00.123456") and "+" not in meta["created_at"]


def test_non_ascii_text_is_raw_in_metas_and_escaped_in_payloads(admin: Api, root: Path) -> None:
    admin.create(
        SPACE,
        record("content", "products", "kitab", displayname={"ar": "كتاب"}, payload=json_payload({"name": "كتاب"})),
    )

    assert "كتاب".encode() in (root / "products" / ".dm" / "kitab" / "meta.content.json").read_bytes()
    assert (root / "products" / "kitab.json").read_bytes() == b'{"name": "\\u0643\\u062a\\u0627\\u0628"}'


def test_attachment_files(admin: Api, root: Path) -> None:
    parent = "products/laptop"
    admin.create(SPACE, record("comment", parent, "c1", body="Nice", state="new"))
    admin.create(SPACE, record("json", parent, "spec", payload=json_payload({"ram": 16})))
    admin.create(SPACE, record("alteration", parent, "alt1", requested_update={"price": 7}))
    attachments = root / "products" / ".dm" / "laptop"

    comment = meta_of(attachments / "attachments.comment" / "meta.c1.json")
    spec = meta_of(attachments / "attachments.json" / "meta.spec.json")
    alteration = meta_of(attachments / "attachments.alteration" / "meta.alt1.json")

    text = {"body": "Nice", "state": "new"}
    assert comment["payload"] == {
        "content_type": "comment",
        "checksum": hashlib.sha256(json.dumps(text).encode()).hexdigest(),
        "body": text,
    }
    assert not (attachments / "attachments.comment" / "c1.json").exists()
    assert spec["payload"]["body"] == "spec.json"
    assert (attachments / "attachments.json" / "spec.json").read_bytes() == b'{"ram": 16}'
    assert alteration["requested_update"] == {"price": 7}


def test_entry_at_the_root_of_a_space(admin: Api, root: Path) -> None:
    admin.create(SPACE, record("content", "/", "top", payload=json_payload({"x": 1})))

    assert meta_of(root / ".dm" / "top" / "meta.content.json")["payload"]["body"] == "top.json"
    assert (root / "top.json").read_bytes() == b'{"x": 1}'
    assert admin.get(f"/managed/entry/content/{SPACE}/__root__/top").status_code == 200


def test_schema_entry_points_at_the_meta_schema(admin: Api, root: Path) -> None:
    document = {"type": "object", "title": "product", "properties": {"name": {"type": "string"}}}
    admin.create(SPACE, record("schema", "schema", "product", payload=json_payload(document)))

    meta = meta_of(root / "schema" / ".dm" / "product" / "meta.schema.json")

    assert meta["payload"]["schema_shortname"] == "meta_schema"
    assert json.loads((root / "schema" / "product.json").read_bytes()) == document


def test_update_writes_history_in_the_entrys_folder(admin: Api, root: Path) -> None:
    response = admin.request(SPACE, "update", record("content", "products", "laptop", tags=["t1"]))
    assert response.status_code == 200, response.text

    [line] = [
        json.loads(raw) for raw in (root / "products" / ".dm" / "laptop" / "history.jsonl").read_text().splitlines()
    ]

    assert line["shortname"] == "history" and line["owner_shortname"] == "dmart"
    assert line["diff"] == {"tags": {"old": [], "new": ["t1"]}}


def test_delete_takes_attachments_payload_and_history(admin: Api, root: Path) -> None:
    admin.create(SPACE, record("comment", "products/laptop", "c1", body="Nice"))
    admin.request(SPACE, "update", record("content", "products", "laptop", tags=["t1"]))

    response = admin.request(SPACE, "delete", record("content", "products", "laptop"))

    assert response.status_code == 200, response.text
    assert not (root / "products" / ".dm" / "laptop").exists()
    assert not (root / "products" / "laptop.json").exists()
    assert not list(root.parent.parent.rglob(".~tmp.*"))


def test_a_refused_record_leaves_the_tree_untouched(admin: Api, root: Path) -> None:
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}

    admin.request(SPACE, "create", record("comment", "products/laptop", "c1", state="no body"))
    admin.request(SPACE, "create", record("content", "products", "laptop", payload=json_payload({"b": 2})))
    admin.request(SPACE, "update", record("content", "products", "laptop", payload=json_payload("not json")))

    after = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    assert after == before


@pytest.mark.parametrize("content_type", ["image_png", "pdf", "csv", "python"])
def test_a_request_cannot_name_a_payload_file(admin: Api, root: Path, content_type: str) -> None:
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    foreign = {"content_type": content_type, "body": "laptop.json"}

    created = admin.request(SPACE, "create", record("content", "products", "evil", payload=foreign))
    updated = admin.request(SPACE, "update", record("content", "products", "laptop", payload=foreign))

    assert [answer.json()["error"]["info"][0]["failed"][0]["error_code"] for answer in (created, updated)] == [402, 402]
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_a_meta_that_cannot_be_serialized_leaves_no_payload_file(settings: Settings, root: Path) -> None:
    before = sorted(root.rglob("*"))
    address = Address(SPACE, "products", "odd", ResourceType.content)
    payload = Payload(content_type=ContentType.json, body="odd.json", checksum="0" * 64)
    meta = meta_class(ResourceType.content)(
        shortname="odd", owner_shortname="dmart", description=Translation(en="\ud800"), payload=payload
    )

    with pytest.raises(PydanticSerializationError):
        Tree(settings.spaces_root).save(address, meta, payload=b'{"n": 1}')

    assert sorted(root.rglob("*")) == before
