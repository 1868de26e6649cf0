"""The one exception type that carries a Dmart error to the client."""

from typing import Any


class DmartError(Exception):
    """An error answered in Dmart's envelope with the given HTTP status."""

    def __init__(
        self,
        status_code: int,
        type: str,
        code: int,
        message: str,
        info: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.type = type
        self.code = code
        self.message = message
        self.info = info
        # HTTP headers the answer needs besides the envelope (Content-Range of a 416).
        self.headers = headers

    def as_error(self) -> dict[str, Any]:
        """The `error` object of the envelope."""
        return {"type": self.type, "code": self.code, "message": self.message, "info": self.info}


class UnreadableMeta(DmartError, ValueError):
    """A meta file on disk that does not parse as its resource type (a ValueError, as a failed parse is)."""

    def __init__(self, space_name: str, subpath: str, shortname: str) -> None:
        place = "/".join(part for part in (space_name, subpath.strip("/"), shortname) if part)
        super().__init__(404, "db", 12, f"Request object is not available: the meta of {place} does not parse")


def not_found(space_name: str, subpath: str, shortname: str, resource_type: str) -> DmartError:
    """The 404 Dmart answers for a missing entry."""
    return DmartError(
        404,
        "db",
        220,
        f"Request object is not available @{space_name}/{subpath}/{shortname} class_type={resource_type}",
    )


def invalid_space(space_name: str) -> DmartError:
    """The 400 Dmart answers for an unknown space."""
    return DmartError(400, "request", 203, f"Space name {space_name} provided is empty or invalid [3]")


class SchemaViolation(DmartError):
    """A payload that does not satisfy its JSON schema."""

    def __init__(self, info: list[dict[str, Any]]) -> None:
        super().__init__(400, "validation", 422, "Validation error [3]", info)


class RecordInvalid(DmartError):
    """Record attributes that do not fit their model."""

    def __init__(self, info: list[dict[str, Any]]) -> None:
        super().__init__(422, "validation", 422, "Validation error [2]", info)
