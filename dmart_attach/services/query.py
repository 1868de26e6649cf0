"""POST /managed/query: every query type answered from the index (contract §3.6)."""

import logging
import uuid
from datetime import datetime
from typing import Any

from dmart_attach.errors import DmartError, invalid_space
from dmart_attach.identifiers import join_subpath
from dmart_attach.models.enums import ATTACHMENT_TYPES, ResourceType
from dmart_attach.models.query import Query, QueryType, SortType
from dmart_attach.models.registry import META_CLASSES
from dmart_attach.services.caller import Caller
from dmart_attach.services.jq import run_jq
from dmart_attach.services.locking import Locking
from dmart_attach.services.records import listed_record
from dmart_attach.services.search_syntax import parse_search
from dmart_attach.services.store import Store
from dmart_attach.services.timeline import events_page, history_page
from dmart_attach.services.visibility import Unrestricted, Visibility
from dmart_attach.storage.finder import Finder, Found
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import KIND_ATTACHMENT, KIND_ENTRY, KIND_FOLDER, KIND_SPACE, json_value
from dmart_attach.storage.selection import Selection

logger = logging.getLogger(__name__)

_REDUCERS = {"count": "count", "r_count": "count", "sum": "sum", "min": "min", "max": "max", "avg": "avg"}
_SEARCHED = (KIND_ENTRY, KIND_FOLDER)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat()


def field_name(path: str) -> str:
    """A client's field path in the index's words: no `@` or `attributes.`, `body.x` is `payload.body.x`."""
    name = path.removeprefix("@").removeprefix("attributes.")
    return f"payload.{name}" if name.startswith("body.") else name


def _pick(source: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for path in paths:
        *parents, last = path.split(".")
        value: Any = source
        for key in [*parents, last]:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None and not (isinstance(source, dict) and path in source):
            continue
        target = picked
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    return picked


def _drop(source: dict[str, Any], paths: list[str]) -> None:
    for path in paths:
        *parents, last = path.split(".")
        target: Any = source
        for key in parents:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(last, None)


class Queries:
    """Turns a Query into a selection of index rows, then into Dmart's records."""

    def __init__(self, *, store: Store, visibility: Visibility | None = None, locking: Locking | None = None) -> None:
        self.store = store
        self.locking = locking
        self.finder = Finder(store.index)
        self.visibility: Visibility = visibility or Unrestricted()

    def run(self, query: Query, caller: Caller) -> tuple[int, list[dict[str, Any]]]:
        """The total and the records of a query."""
        if not self.store.tree.space_exists(query.space_name):
            raise invalid_space(query.space_name)
        total, records = self._dispatch(query, caller)
        for record in records:
            self._shape(record, query)
        if query.jq_filter:
            records = run_jq(query.jq_filter, records, timeout=self.store.settings.jq_timeout)
        return total, records

    def limit(self, query: Query) -> int:
        """The page size: `-1` means the largest allowed, and nothing goes above it."""
        largest = self.store.settings.max_query_limit
        return largest if query.limit == -1 else min(query.limit, largest)

    def selection(self, query: Query, caller: Caller, *, kinds: tuple[int, ...], exact: bool) -> Selection:
        """The rows a query's filters and search mean, within the caller's view."""
        types = [kind.value for kind in query.filter_types] if query.filter_types else None
        return Selection(
            space_name=query.space_name,
            subpath=query.subpath,
            kinds=kinds,
            exact=exact,
            resource_types=types,
            shortnames=query.filter_shortnames or [],
            tags=query.filter_tags or [],
            schema_names=[name for name in query.filter_schema_names if name != "meta"],
            from_date=_iso(query.from_date),
            to_date=_iso(query.to_date),
            groups=parse_search(query.search),
            visibility=self.visibility.clause(caller=caller, space_name=query.space_name),
        )

    def _searched(self, query: Query, caller: Caller) -> Selection:
        kinds: tuple[int, ...] = _SEARCHED
        if query.filter_types and any(kind in ATTACHMENT_TYPES for kind in query.filter_types):
            kinds = (*_SEARCHED, KIND_ATTACHMENT)
        return self.selection(query, caller, kinds=kinds, exact=query.exact_subpath)

    def _dispatch(self, query: Query, caller: Caller) -> tuple[int, list[dict[str, Any]]]:
        match query.type:
            case QueryType.subpath:
                return self._listing(query, self.selection(query, caller, kinds=_SEARCHED, exact=True), caller)
            case QueryType.search:
                return self._listing(query, self._searched(query, caller), caller)
            case QueryType.attachments:
                chosen = self.selection(query, caller, kinds=(KIND_ATTACHMENT,), exact=query.exact_subpath)
                return self._listing(query, chosen, caller)
            case QueryType.attachments_aggregation:
                chosen = self.selection(query, caller, kinds=(KIND_ATTACHMENT,), exact=query.exact_subpath)
                return 1, [self._summary(query, "aggregation_result", dict(self.finder.type_counts(chosen)))]
            case QueryType.spaces:
                return self._spaces(query, caller)
            case QueryType.counters:
                return self.finder.count(self._searched(query, caller)), []
            case QueryType.tags:
                counts = self.finder.tag_counts(self._searched(query, caller))
                attributes = {"tags": [tag for tag, _ in counts], "tag_counts": dict(counts)}
                return len(counts), [self._summary(query, "tags", attributes)]
            case QueryType.random:
                chosen = self._searched(query, caller)
                found = self.finder.sample(chosen, limit=self.limit(query))
                return self.finder.count(chosen), self._records(found, query, caller)
            case QueryType.aggregation:
                return self._aggregation(query, self._searched(query, caller))
            case QueryType.history:
                if not query.filter_shortnames:
                    raise DmartError(400, "request", 209, "filter_shortnames is missing")
                address = self.store.address(
                    query.space_name, query.subpath, query.filter_shortnames[0], ResourceType.content
                )
                if not self.visibility.may_view(caller=caller, address=address):
                    return 0, []
                return history_page(
                    self.store,
                    space_name=address.space_name,
                    subpath=address.subpath,
                    shortname=address.shortname,
                    limit=self.limit(query),
                    offset=query.offset,
                )
            case QueryType.events:
                if not self.visibility.may_query(caller=caller, space_name=query.space_name, subpath=query.subpath):
                    return 0, []
                return events_page(
                    self.store,
                    space_name=query.space_name,
                    search=query.search,
                    from_date=query.from_date,
                    to_date=query.to_date,
                    limit=self.limit(query),
                    offset=query.offset,
                )
        return 0, []

    def _order(self, query: Query, default: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        descending = query.sort_type == SortType.descending
        if query.sort_by:
            return [(field_name(query.sort_by), descending)]
        if descending:
            return [("created_at", True)]
        return default

    def _listing(self, query: Query, chosen: Selection, caller: Caller) -> tuple[int, list[dict[str, Any]]]:
        total = self.finder.count(chosen) if query.retrieve_total else -1
        found = self.finder.page(chosen, order=self._order(query, []), limit=self.limit(query), offset=query.offset)
        return total, self._records(found, query, caller)

    def _spaces(self, query: Query, caller: Caller) -> tuple[int, list[dict[str, Any]]]:
        chosen = Selection(
            space_name=None,
            kinds=(KIND_SPACE,),
            exact=False,
            visibility=self.visibility.clause(caller=caller, space_name=None),
        )
        order = self._order(query, [("ordinal", False)])
        found = self.finder.page(chosen, order=order, limit=self.limit(query), offset=query.offset)
        return self.finder.count(chosen), self._records(found, query, caller, subpath=query.subpath)

    def _aggregation(self, query: Query, chosen: Selection) -> tuple[int, list[dict[str, Any]]]:
        data = query.aggregation_data
        if data is None:
            raise DmartError(400, "request", 400, "An aggregation query needs aggregation_data")
        reducers: list[tuple[str, str, str | None]] = []
        for reducer in data.reducers:
            function = _REDUCERS.get(reducer.reducer_name.lower())
            if function is None:
                raise DmartError(400, "request", 400, f"Unknown reducer {reducer.reducer_name}")
            if function != "count" and not reducer.args:
                raise DmartError(400, "request", 400, f"The reducer {reducer.reducer_name} needs a field in args")
            argument = field_name(reducer.args[0]) if reducer.args and function != "count" else None
            reducers.append((reducer.alias or reducer.reducer_name, function, argument))
        group_by = [field_name(name) for name in data.group_by]
        rows = self.finder.aggregate(chosen, group_by=group_by, reducers=reducers)
        page = rows[query.offset : query.offset + self.limit(query)]
        records = [self._summary(query, str(query.offset + number + 1), row) for number, row in enumerate(page)]
        return len(rows), records

    @staticmethod
    def _summary(query: Query, shortname: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {
            "resource_type": "content",
            "uuid": str(uuid.uuid4()),
            "shortname": shortname,
            "subpath": query.subpath,
            "attributes": attributes,
            "retrieve_lock_status": False,
        }

    def record(self, found: Found, *, retrieve_json_payload: bool, subpath: str | None = None) -> dict[str, Any]:
        """A Record built from an index row, its JSON body inlined when asked."""
        resource_type = ResourceType(found.resource_type)
        meta = META_CLASSES[resource_type].model_validate_json(found.meta)
        shown_body = None
        if retrieve_json_payload and meta.payload is not None:
            if found.body is not None:
                shown_body = json_value(found.body)
            else:
                # A body the index cannot hold (nested deeply) is read from its file. Either is answered
                # as it is, integers beyond 64 bits included.
                address = Address(found.space_name, found.subpath, found.shortname, resource_type)
                shown_body = self.store.body_of(address, meta)
        record = listed_record(meta, resource_type=resource_type, subpath=subpath or found.subpath)
        if shown_body is not None:
            record["attributes"]["payload"]["body"] = shown_body
        return record

    def _records(
        self, found: list[Found], query: Query, caller: Caller, *, subpath: str | None = None
    ) -> list[dict[str, Any]]:
        records = []
        for row in found:
            record = self.record(row, retrieve_json_payload=query.retrieve_json_payload, subpath=subpath)
            if query.retrieve_lock_status and row.kind in _SEARCHED and self.locking is not None:
                locked = self.locking.status(space_name=row.space_name, subpath=row.subpath, shortname=row.shortname)
                if locked is not None:
                    record["attributes"]["locked"] = locked
            if query.retrieve_attachments and row.kind in _SEARCHED:
                record["attachments"] = self.attachments(
                    space_name=row.space_name,
                    subpath=join_subpath(row.subpath, row.shortname),
                    caller=caller,
                    retrieve_json_payload=query.retrieve_json_payload,
                )
            records.append(record)
        return records

    def attachments(
        self, *, space_name: str, subpath: str, caller: Caller, retrieve_json_payload: bool
    ) -> dict[str, Any]:
        """The attachments whose subpath is `subpath` that the caller may see, grouped by kind."""
        chosen = Selection(
            space_name=space_name,
            subpath=subpath,
            kinds=(KIND_ATTACHMENT,),
            exact=True,
            visibility=self.visibility.clause(caller=caller, space_name=space_name),
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in self.finder.page(chosen, order=[], limit=self.store.settings.max_query_limit, offset=0):
            record = self.record(row, retrieve_json_payload=retrieve_json_payload)
            grouped.setdefault(row.resource_type, []).append(record)
        return grouped

    @staticmethod
    def _shape(record: dict[str, Any], query: Query) -> None:
        attributes = record.get("attributes")
        if not isinstance(attributes, dict):
            return
        if query.include_fields:
            record["attributes"] = _pick(
                attributes, [field.removeprefix("attributes.") for field in query.include_fields]
            )
        if query.exclude_fields:
            _drop(record["attributes"], [field.removeprefix("attributes.") for field in query.exclude_fields])
