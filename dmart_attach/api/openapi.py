"""What the routes answer, as the OpenAPI schema declares it: Dmart's envelope for successes and for every error."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Responses = dict[int | str, dict[str, Any]]


class ErrorDetail(BaseModel):
    """The `error` of a failed answer."""

    type: str
    code: int
    message: str
    info: list[Any] | None = None


class Failure(BaseModel):
    """A failed answer: its HTTP status and `error` say why."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["failed"]
    error: ErrorDetail
    records: None = None
    attributes: None = None


class Success(BaseModel):
    """A successful answer; absent parts are left out."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["success"]
    records: list[dict[str, Any]] | None = None
    attributes: dict[str, Any] | None = None


class Meta(BaseModel):
    """One entry, folder or attachment as its meta (Dmart answers it without the envelope)."""

    model_config = ConfigDict(extra="allow")

    uuid: str
    shortname: str


def _failure(description: str) -> dict[str, Any]:
    return {"model": Failure, "description": description}


# Any route may answer these: a missing or bad token, a refused action, a malformed request, a missing object.
ERRORS: Responses = {
    400: _failure("A request Dmart refuses (unknown space, taken shortname, refused records of a request)"),
    401: _failure("No valid token, or the caller may not do this"),
    403: _failure("The entry is locked by another user"),
    404: _failure("The space, entry or attachment does not exist"),
    422: _failure("A parameter or body that does not fit its schema, or an unknown path"),
}
SUCCESS: Responses = {200: {"model": Success, "description": "Dmart's success envelope"}}
META: Responses = {200: {"model": Meta, "description": "The meta of the record, without the envelope"}}
UPLOAD_ERRORS: Responses = {
    406: _failure("The file's bytes are not of the declared or allowed kind"),
    413: _failure("The file or the form fields are larger than allowed"),
}
BUSY: Responses = {503: _failure("Every query worker is busy")}
