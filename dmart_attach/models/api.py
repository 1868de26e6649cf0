"""Wire models: records, requests and the answer envelope."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dmart_attach.identifiers import (
    SHORTNAME_PATTERN,
    SPACENAME_PATTERN,
    SUBPATH_PATTERN,
    normalize_subpath,
)
from dmart_attach.models.core import reject_unwritable_numbers
from dmart_attach.models.enums import RequestType, ResourceType


class Record(BaseModel):
    """One resource as Dmart sends and answers it."""

    model_config = ConfigDict(extra="forbid")

    resource_type: ResourceType
    uuid: str | None = None
    shortname: str = Field(pattern=SHORTNAME_PATTERN)
    subpath: str = Field(pattern=SUBPATH_PATTERN)
    attributes: dict[str, Any]
    attachments: dict[str, list[Any]] | None = None
    retrieve_lock_status: bool | None = False

    @field_validator("subpath")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_subpath(value)

    @field_validator("attributes")
    @classmethod
    def _finite(cls, value: dict[str, Any]) -> dict[str, Any]:
        return reject_unwritable_numbers(value)  # type: ignore[no-any-return]


class Request(BaseModel):
    """The body of POST /managed/request."""

    model_config = ConfigDict(extra="forbid")

    space_name: str = Field(pattern=SPACENAME_PATTERN)
    request_type: RequestType
    records: list[Record]


class LoginRequest(BaseModel):
    """The body of POST /user/login."""

    model_config = ConfigDict(extra="ignore")

    shortname: str | None = Field(default=None, pattern=SHORTNAME_PATTERN)
    email: str | None = None
    msisdn: str | None = None
    password: str | None = None
    invitation: str | None = None
    firebase_token: str | None = None
    device_id: str | None = None
    otp: str | None = None
