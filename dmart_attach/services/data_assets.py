"""Querying an entry's data assets with SQL: which files, which tables, which answer."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmart_attach.errors import DmartError, invalid_space, not_found
from dmart_attach.identifiers import join_subpath
from dmart_attach.models.core import Payload
from dmart_attach.models.data_asset import DataAssetQuery, DataAssetType
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.sql_jobs import SqlJob
from dmart_attach.services.sql_workers import SqlWorkers
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address, UnsafePath

logger = logging.getLogger(__name__)

# The table every csv, jsonl or parquet query can read: all the selected assets together.
UNION_TABLE = "file"

_READERS = {
    DataAssetType.csv: "read_csv({files}{options})",
    DataAssetType.jsonl: "read_json({files}, format = 'newline_delimited'{options})",
    DataAssetType.parquet: "read_parquet({files}{options})",
}


@dataclass(frozen=True)
class Asset:
    """One data-asset attachment and its file, relative to the folder of its parent entry.

    `columns` are the names and types recorded when the file arrived (from every row), if any.
    """

    shortname: str
    file: str
    columns: tuple[tuple[str, str], ...] = ()


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def recorded_columns(payload: Payload | None) -> tuple[tuple[str, str], ...]:
    """The `payload.columns` an upload recorded, as (name, type) pairs; none when absent or malformed."""
    columns = (payload.model_extra or {}).get("columns") if payload is not None else None
    if not isinstance(columns, list):
        return ()
    pairs = [(item.get("name"), item.get("type")) for item in columns if isinstance(item, dict)]
    if len(pairs) != len(columns) or not all(isinstance(name, str) and isinstance(kind, str) for name, kind in pairs):
        return ()
    return tuple((str(name), str(kind)) for name, kind in pairs)


def _typed(kind: DataAssetType, asset: Asset) -> str:
    """Reader options that give each column its recorded type, instead of one guessed from a sample."""
    if not asset.columns:
        return ""
    if kind == DataAssetType.csv:
        # By position: the header's names are the sniffer's to find, the column count is the file's.
        return ", types = [" + ", ".join(_sql_string(type_name) for _, type_name in asset.columns) + "]"
    if kind == DataAssetType.jsonl:
        listed = ", ".join(f"{_sql_string(name)}: {_sql_string(type_name)}" for name, type_name in asset.columns)
        return ", columns = {" + listed + "}"
    return ""


def _reader(kind: DataAssetType, assets: list[Asset]) -> str:
    if len(assets) == 1:
        return _READERS[kind].format(files=_sql_string(assets[0].file), options=_typed(kind, assets[0]))
    if any(_typed(kind, asset) for asset in assets):
        return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {_reader(kind, [asset])}" for asset in assets) + ")"
    listed = "[" + ", ".join(_sql_string(asset.file) for asset in assets) + "]"
    return _READERS[kind].format(files=listed, options=", union_by_name = true")


def table_setup(kind: DataAssetType, assets: list[Asset], *, query: str) -> tuple[str, ...]:
    """The views that show `assets` as the table `file` (all of them) and each under its shortname.

    Making a view reads the start of its files to learn their columns, so only the views whose
    names the query's text mentions are made: a name it never mentions cannot be read.
    """
    mentioned = query.casefold()
    views = [(UNION_TABLE, assets)]
    views += [(asset.shortname, [asset]) for asset in assets if asset.shortname != UNION_TABLE]
    return tuple(
        f'CREATE VIEW "{name}" AS SELECT * FROM {_reader(kind, selected)}'
        for name, selected in views
        if name.casefold() in mentioned
    )


class DataAssets:
    """SQL over the data-asset attachments of one entry, run by the worker pool."""

    def __init__(self, *, store: Store, workers: SqlWorkers, access: Access) -> None:
        self.store = store
        self.workers = workers
        self.access = access

    def _entry_folder(self, request: DataAssetQuery) -> Path:
        """The parent entry's own `.dm` folder, after checking that the entry exists."""
        tree = self.store.tree
        if not tree.space_exists(request.space_name):
            raise invalid_space(request.space_name)
        parent = self.store.address(request.space_name, request.subpath, request.shortname, request.resource_type)
        if tree.load(parent) is None:
            raise not_found(request.space_name, request.subpath, request.shortname, request.resource_type.value)
        return tree.layout.entry_dir(request.space_name, request.subpath, request.shortname)

    def assets(self, request: DataAssetQuery, *, caller: Caller) -> tuple[Path, list[Asset]]:
        """The entry's folder and the assets a query reads: all of the kind, or those named, each one viewable."""
        folder = self._entry_folder(request)
        kind = ResourceType(request.data_asset_type.value)
        own_subpath = join_subpath(request.subpath, request.shortname)
        found = {
            meta.shortname: meta
            for resource_type, meta in self.store.tree.list_attachments(
                space_name=request.space_name, subpath=request.subpath, shortname=request.shortname
            )
            if resource_type == kind
        }
        named = request.filter_data_assets or sorted(found)
        missing = [name for name in named if name not in found]
        if missing:
            raise DmartError(404, "db", 220, f"No {kind.value} data asset named {', '.join(missing)} on this entry")
        if not named:
            raise DmartError(400, "data_asset", 220, f"This entry has no {kind.value} data asset")

        assets = []
        for name in named:
            meta = found[name]
            file_name = meta.payload.file_name if meta.payload is not None else None
            address = Address(request.space_name, own_subpath, name, kind)
            # Like /managed/payload: the caller needs `view` on each attachment, by its own type.
            self.access.require(caller, ActionType.view, address, meta=meta, number=11)
            try:
                path = self.store.tree.payload_path(address, file_name) if file_name else None
            except UnsafePath:
                path = None
            if path is None or not path.is_file():
                raise DmartError(404, "data_asset", 402, f"Invalid data asset file found at {own_subpath}/{name}")
            assets.append(
                Asset(shortname=name, file=str(path.relative_to(folder)), columns=recorded_columns(meta.payload))
            )
        return folder, assets

    def job(self, request: DataAssetQuery, *, caller: Caller) -> SqlJob:
        """The work a worker does for `request`: its files, its tables and the SQL."""
        folder, assets = self.assets(request, caller=caller)
        kind = request.data_asset_type
        if kind == DataAssetType.sqlite:
            return SqlJob(
                engine="sqlite",
                folder=str(folder),
                files=(),
                setup=(),
                sql=request.query_string,
                database=assets[0].file,
            )
        if kind == DataAssetType.duckdb:
            database = assets[0].file
            return SqlJob(
                engine="duckdb",
                folder=str(folder),
                files=(database,),
                setup=(),
                sql=request.query_string,
                database=database,
            )
        return SqlJob(
            engine="duckdb",
            folder=str(folder),
            files=tuple(asset.file for asset in assets),
            setup=table_setup(kind, assets, query=request.query_string),
            sql=request.query_string,
        )

    def query(self, request: DataAssetQuery, *, caller: Caller) -> dict[str, Any]:
        """Run the request's SQL; answer the columns, the rows as JSON and whether the row cap cut them."""
        job = self.job(request, caller=caller)
        started = time.monotonic()
        answer = self.workers.run(job)
        logger.info(
            "data-asset query",
            extra={
                "user": caller.shortname,
                "entry": f"{request.space_name}/{request.subpath}/{request.shortname}",
                "data_asset_type": request.data_asset_type.value,
                "returned": len(answer.rows),
                "seconds": round(time.monotonic() - started, 4),
            },
        )
        return {
            "columns": answer.columns,
            "rows": answer.rows,
            "returned": len(answer.rows),
            "truncated": answer.truncated,
        }
