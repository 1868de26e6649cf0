"""Finding one record by uuid or slug, and a query's records as CSV (contract §3.10)."""

import csv
import io
import json
from typing import Any

from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT, join_subpath, split_subpath
from dmart_attach.models.enums import ResourceType
from dmart_attach.models.query import Query
from dmart_attach.services.caller import Caller
from dmart_attach.services.history import flatten
from dmart_attach.services.query import Queries
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import KIND_ATTACHMENT, KIND_ENTRY, KIND_FOLDER
from dmart_attach.storage.selection import Selection

_LOCATOR = ("resource_type", "shortname", "subpath", "uuid")
_BOM = "\ufeff"


def _path(value: Any, key: str) -> Any:
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _value(record: dict[str, Any], key: str) -> Any:
    """A CSV cell: the record's own key, an attribute path, or a path in the JSON body."""
    if key in _LOCATOR:
        return record.get(key)
    attributes = record.get("attributes") or {}
    found = _path(attributes, key)
    if found is None:
        found = _path((attributes.get("payload") or {}).get("body"), key)
    return found


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Lookups:
    """byuuid, byslug and the CSV export."""

    def __init__(self, *, store: Store, queries: Queries) -> None:
        self.store = store
        self.queries = queries

    def by(
        self,
        column: str,
        value: str,
        caller: Caller,
        *,
        retrieve_json_payload: bool,
        retrieve_attachments: bool,
    ) -> dict[str, Any]:
        """The first record whose uuid (or a prefix of it) or slug is `value`."""
        chosen = Selection(
            space_name=None,
            kinds=(KIND_ENTRY, KIND_FOLDER, KIND_ATTACHMENT),
            exact=False,
            visibility=self.queries.visibility.clause(caller=caller, space_name=None),
        )
        found = self.queries.finder.by_identifier(chosen, column=column, value=value, prefix=column == "uuid")
        if found is None:
            raise DmartError(400, "media", 220, "Request object is not available")
        record = self.queries.record(found, retrieve_json_payload=retrieve_json_payload)
        record["attachments"] = {}
        if retrieve_attachments and found.kind != KIND_ATTACHMENT:
            record["attachments"] = self.queries.attachments(
                space_name=found.space_name,
                subpath=join_subpath(found.subpath, found.shortname),
                caller=caller,
                retrieve_json_payload=retrieve_json_payload,
            )
        return record

    def _columns(self, space_name: str, subpath: str) -> list[tuple[str, str]] | None:
        """The folder's `csv_columns` (or `index_attributes`) as (key, name) pairs, if it names any."""
        if subpath == ROOT:
            address = Address(space_name, ROOT, space_name, ResourceType.space)
        else:
            parent, name = split_subpath(subpath)
            address = Address(space_name, parent, name, ResourceType.folder)
        meta = self.store.tree.load(address)
        body = self.store.body_of(address, meta) if meta is not None else None
        if not isinstance(body, dict):
            return None
        for setting in ("csv_columns", "index_attributes"):
            columns = body.get(setting)
            if isinstance(columns, list) and columns:
                return [
                    (str(item["key"]), str(item.get("name") or item["key"]))
                    for item in columns
                    if isinstance(item, dict) and item.get("key")
                ]
        return None

    def csv(self, query: Query, caller: Caller) -> tuple[str, bytes]:
        """The file name and the UTF-8 (with BOM) CSV of a query's records."""
        query = query.model_copy(update={"retrieve_json_payload": True, "jq_filter": None})
        _, records = self.queries.run(query, caller)
        columns = self._columns(query.space_name, query.subpath)
        if columns is None:
            flat = [
                {**{key: record.get(key) for key in _LOCATOR}, **flatten(record["attributes"])} for record in records
            ]
            keys: dict[str, None] = dict.fromkeys(_LOCATOR)
            for row in flat:
                keys.update(dict.fromkeys(row))
            header = list(keys)
            rows = [[_cell(row.get(key)) for key in header] for row in flat]
        else:
            header = [name for _, name in columns]
            rows = [[_cell(_value(record, key)) for key, _ in columns] for record in records]
        output = io.StringIO()
        writer = csv.writer(output)
        writer.writerow(header)
        writer.writerows(rows)
        name = f"{query.space_name}_{query.subpath.strip('/') or 'root'}".replace("/", "_")
        return f"{name}.csv", (_BOM + output.getvalue()).encode()
