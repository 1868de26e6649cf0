"""The body of POST /managed/query and /managed/csv (contract §3.6)."""

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dmart_attach.identifiers import SPACENAME_PATTERN, SUBPATH_PATTERN, is_shortname, normalize_subpath
from dmart_attach.models.enums import ResourceType

FIELD_PATH = re.compile(r"@?[a-zA-Z0-9_.\-]+")
# jq builtins that reach outside the records (Dmart refuses the same ones).
_JQ_REFUSED = re.compile(r"\benv\b|\$ENV\b|\binput\b|\binputs\b|\bdebug\b|\bstderr\b|\binput_filename\b|\bpath\b\s*\(")


class QueryType(StrEnum):
    search = "search"
    subpath = "subpath"
    events = "events"
    history = "history"
    tags = "tags"
    random = "random"
    spaces = "spaces"
    counters = "counters"
    reports = "reports"
    aggregation = "aggregation"
    attachments = "attachments"
    attachments_aggregation = "attachments_aggregation"


class SortType(StrEnum):
    ascending = "ascending"
    descending = "descending"


class Reducer(BaseModel):
    """One aggregate of an aggregation query: `count`, `sum`, `min`, `max` or `avg` of a field."""

    reducer_name: str = Field(pattern=r"^[a-z_]+$")
    alias: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_]+$")
    args: list[str] = Field(default_factory=list)


class AggregationData(BaseModel):
    group_by: list[str] = Field(default_factory=list)
    reducers: list[Reducer] = Field(default_factory=list)
    load: list[str] = Field(default_factory=list)

    @field_validator("group_by", "load")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for item in value:
            if not FIELD_PATH.fullmatch(item):
                raise ValueError(f"invalid field path {item!r}")
        return value


class Query(BaseModel):
    """What to find, how to page it and what to show of each record."""

    model_config = ConfigDict(extra="forbid")

    type: QueryType
    space_name: str = Field(pattern=SPACENAME_PATTERN)
    subpath: str = Field(pattern=SUBPATH_PATTERN)
    exact_subpath: bool = False
    filter_types: list[ResourceType] | None = None
    filter_schema_names: list[str] = Field(default_factory=lambda: ["meta"])
    filter_shortnames: list[str] | None = Field(default_factory=list)
    filter_tags: list[str] | None = None
    search: str | None = Field(default=None, max_length=1024)
    from_date: datetime | None = None
    to_date: datetime | None = None
    exclude_fields: list[str] | None = None
    include_fields: list[str] | None = None
    highlight_fields: dict[str, str] = Field(default_factory=dict)
    sort_by: str | None = Field(default=None, max_length=256)
    sort_type: SortType | None = None
    retrieve_json_payload: bool = False
    retrieve_attachments: bool = False
    retrieve_total: bool = True
    validate_schema: bool = True
    retrieve_lock_status: bool = False
    jq_filter: str | None = Field(default=None, max_length=1024)
    limit: int = Field(default=10, ge=-1)
    offset: int = Field(default=0, ge=0)
    aggregation_data: AggregationData | None = None
    join: list[dict[str, Any]] | None = None

    @field_validator("subpath")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_subpath(value)

    @field_validator("sort_by")
    @classmethod
    def _sort_by(cls, value: str | None) -> str | None:
        if value is not None and not FIELD_PATH.fullmatch(value):
            raise ValueError("sort_by may only hold letters, digits, `_`, `.` and `-`")
        return value

    @field_validator("filter_shortnames")
    @classmethod
    def _shortnames(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not is_shortname(item):
                raise ValueError(f"filter_shortnames item {item!r} is not a valid shortname")
        return value

    @field_validator("jq_filter")
    @classmethod
    def _jq(cls, value: str | None) -> str | None:
        if value is not None and _JQ_REFUSED.search(value):
            raise ValueError("jq_filter may not use env, $ENV, input, inputs, debug, stderr or path(")
        return value
