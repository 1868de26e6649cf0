"""Data-asset attachments written straight into the tree, exactly as an upload stores them."""

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import duckdb

from dmart_attach.identifiers import join_subpath
from dmart_attach.models.core import Payload
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.models.registry import meta_class
from dmart_attach.storage.layout import Address
from dmart_attach.storage.tree import Tree


def attach_data_asset(
    spaces: Path,
    *,
    space_name: str,
    subpath: str,
    parent: str,
    shortname: str,
    kind: str,
    content: bytes,
) -> Address:
    """Store `content` as the `kind` data asset `shortname` of the entry `parent` at `subpath`.

    Writes `<space>/<subpath>/.dm/<parent>/attachments.<kind>/` with the file `<shortname>.<kind>`
    and its meta, whose payload is `{content_type: kind, body: file name, checksum}`.
    """
    resource_type = ResourceType(kind)
    address = Address(space_name, join_subpath(subpath, parent), shortname, resource_type)
    payload = Payload(
        content_type=ContentType(kind),
        body=f"{shortname}.{kind}",
        checksum=hashlib.sha256(content).hexdigest(),
    )
    meta = meta_class(resource_type)(shortname=shortname, owner_shortname="dmart", is_active=True, payload=payload)
    Tree(spaces).save(address, meta, payload=content)
    return address


def csv_bytes(*lines: str) -> bytes:
    """A CSV file from its lines."""
    return ("\n".join(lines) + "\n").encode()


def duckdb_made(folder: Path, suffix: str, *statements: str) -> bytes:
    """The bytes of a file DuckDB writes: a `COPY ... TO 'out'` statement, or tables of a database."""
    target = folder / f"made.{suffix}"
    target.unlink(missing_ok=True)
    if suffix == "duckdb":
        with duckdb.connect(str(target)) as connection:
            for statement in statements:
                connection.execute(statement)
    else:
        with duckdb.connect() as connection:
            for statement in statements:
                connection.execute(statement.replace("'out'", f"'{target}'"))
    return target.read_bytes()


def sqlite_bytes(folder: Path, *statements: str) -> bytes:
    """The bytes of a SQLite database made by `statements`."""
    target = folder / "made.sqlite"
    target.unlink(missing_ok=True)
    connection = sqlite3.connect(target)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()
    return target.read_bytes()


def query_body(
    space_name: str,
    subpath: str,
    shortname: str,
    kind: str,
    query_string: str,
    *,
    assets: list[str] | None = None,
    resource_type: str = "content",
) -> dict[str, Any]:
    """The body of POST /managed/data-asset (and the parameters of its GET form)."""
    body: dict[str, Any] = {
        "space_name": space_name,
        "subpath": subpath,
        "resource_type": resource_type,
        "shortname": shortname,
        "data_asset_type": kind,
        "query_string": query_string,
    }
    if assets is not None:
        body["filter_data_assets"] = assets
    return body
