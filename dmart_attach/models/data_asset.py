"""The question a client asks of an entry's data assets."""

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dmart_attach.identifiers import (
    SHORTNAME_PATTERN,
    SPACENAME_PATTERN,
    SUBPATH_PATTERN,
    is_shortname,
    normalize_subpath,
)
from dmart_attach.models.enums import ResourceType

# Long enough for any hand-written query, short enough that parsing it costs nothing.
MAX_QUERY_LENGTH = 100_000


class DataAssetType(StrEnum):
    """The data-asset kinds a query can read, each stored in `attachments.<kind>`."""

    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"
    sqlite = "sqlite"
    duckdb = "duckdb"

    @property
    def is_database(self) -> bool:
        """Whether an asset of this kind is a database file with tables of its own."""
        return self in (DataAssetType.sqlite, DataAssetType.duckdb)


class DataAssetQuery(BaseModel):
    """The body of POST /managed/data-asset, and the parameters of its GET form."""

    model_config = ConfigDict(extra="forbid")

    space_name: str = Field(pattern=SPACENAME_PATTERN)
    subpath: str = Field(pattern=SUBPATH_PATTERN)
    resource_type: ResourceType = ResourceType.content
    shortname: str = Field(pattern=SHORTNAME_PATTERN)
    data_asset_type: DataAssetType
    filter_data_assets: list[str] | None = None
    query_string: str = Field(default="SELECT * FROM file", min_length=1, max_length=MAX_QUERY_LENGTH)
    # pydmart sends it; this service has no branches.
    branch_name: str | None = None

    @field_validator("subpath")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_subpath(value)

    @field_validator("filter_data_assets")
    @classmethod
    def _shortnames(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for name in value:
            if not is_shortname(name):
                raise ValueError(f"{name!r} is not a valid shortname")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_database(self) -> Self:
        if self.data_asset_type.is_database and len(self.filter_data_assets or []) != 1:
            raise ValueError(f"a {self.data_asset_type.value} query names exactly one asset in filter_data_assets")
        return self
