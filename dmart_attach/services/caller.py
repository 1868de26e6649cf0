"""Who is asking, as the services see it."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request and the headers history lines record."""

    shortname: str
    headers: dict[str, str] = field(default_factory=dict)
