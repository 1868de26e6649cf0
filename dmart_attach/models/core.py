"""The meta model of every entry and attachment, as Dmart stores it in `meta.*.json`."""

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dmart_attach.clock import now
from dmart_attach.identifiers import SHORTNAME_PATTERN, SLUG_PATTERN
from dmart_attach.models.enums import (
    INLINE_CONTENT_TYPES,
    ActionType,
    ContentType,
    Language,
    ResourceType,
    UserType,
)

# JSON nested deeper than this is refused: answers and the index encode it with orjson, which stops at 255 levels.
MAX_JSON_DEPTH = 100


def reject_non_finite(value: Any) -> Any:
    """Refuse NaN and infinities anywhere in a JSON value (they cannot be written back as JSON), and deep nesting."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("NaN and Infinity are not valid JSON numbers")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= MAX_JSON_DEPTH:
            raise ValueError(f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep")
        pending.extend((child, depth + 1) for child in children)
    return value


_INTEGER_RANGE = range(-(2**63), 2**64)


def numbers(value: Any) -> Iterator[int | float]:
    """Every number anywhere in a JSON value, however deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, int | float):
            yield item


def reject_unwritable_numbers(value: Any) -> Any:
    """Refuse, in what a client sends, NaN, infinities and integers beyond 64 bits, which the index cannot hold."""
    reject_non_finite(value)
    for number in numbers(value):
        if isinstance(number, int) and number not in _INTEGER_RANGE:
            raise ValueError("Integers beyond 64 bits are not supported")
    return value


class Translation(BaseModel):
    """A text in Dmart's languages; other language keys are kept as they are."""

    model_config = ConfigDict(extra="allow")

    en: str | None = None
    ar: str | None = None
    ku: str | None = None


class Payload(BaseModel):
    """What an entry carries: inline text, or the name of its payload file."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    content_type: ContentType
    content_sub_type: str | None = None
    schema_shortname: str | None = None
    client_checksum: str | None = None
    checksum: str | None = None
    body: str | dict[str, Any] | list[Any] | None

    @field_validator("content_type", mode="before")
    @classmethod
    def _legacy_image(cls, value: Any) -> Any:
        # Older Dmart trees store the bare word `image` for JPEG media.
        return ContentType.image_jpeg if value == "image" else value

    @field_validator("body")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        return reject_non_finite(value)

    @property
    def file_name(self) -> str | None:
        """The name of the payload file, for payloads kept outside the meta."""
        if self.content_type in INLINE_CONTENT_TYPES or not isinstance(self.body, str):
            return None
        return self.body


class AccessEntry(BaseModel):
    """One item of an entry's ACL."""

    user_shortname: str
    allowed_actions: list[ActionType]


class Locator(BaseModel):
    """A pointer to an entry anywhere in the tree."""

    model_config = ConfigDict(extra="ignore")

    uuid: UUID | None = None
    domain: str | None = None
    type: ResourceType
    space_name: str
    subpath: str
    shortname: str
    schema_shortname: str | None = None
    displayname: Translation | None = None
    description: Translation | None = None
    tags: list[str] | None = None


class Meta(BaseModel):
    """Fields common to every entry and attachment."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    uuid: UUID = Field(default_factory=uuid4)
    shortname: str = Field(pattern=SHORTNAME_PATTERN)
    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)
    is_active: bool = False
    displayname: Translation | None = None
    description: Translation | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    owner_shortname: str
    owner_group_shortname: str | None = None
    payload: Payload | None = None
    relationships: list[Any] | None = None
    acl: list[AccessEntry] | None = None
    last_checksum_history: str | None = None


class Space(Meta):
    root_registration_signature: str = ""
    primary_website: str = ""
    indexing_enabled: bool = False
    capture_misses: bool = False
    check_health: bool = False
    languages: list[Language] = Field(default_factory=lambda: [Language.english])
    icon: str = ""
    mirrors: list[str] = Field(default_factory=list)
    hide_folders: list[str] = Field(default_factory=list)
    hide_space: bool | None = None
    active_plugins: list[str] = Field(default_factory=list)
    ordinal: int | None = None


class Folder(Meta):
    pass


class Content(Meta):
    pass


class Post(Content):
    pass


class Log(Meta):
    pass


class Schema(Meta):
    pass


class Reporter(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str | None = None
    name: str | None = None
    channel: str | None = None
    distributor: str | None = None
    governorate: str | None = None
    msisdn: str | None = None
    channel_address: dict[str, Any] | None = None


class Ticket(Meta):
    state: str
    is_open: bool = True
    reporter: Reporter | None = None
    workflow_shortname: str
    collaborators: dict[str, str] | None = None
    resolution_reason: str | None = None


class User(Meta):
    password: str | None = None
    email: str | None = None
    msisdn: str | None = Field(default=None, pattern=r"^[1-9][0-9]{9,14}$")
    locked_to_device: bool = False
    is_email_verified: bool = False
    is_msisdn_verified: bool = False
    force_password_change: bool = False
    type: UserType = UserType.web
    roles: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    device_id: str | None = None
    language: Language = Language.arabic
    google_id: str | None = None
    facebook_id: str | None = None
    social_avatar_url: str | None = None
    last_login: dict[str, Any] | None = None
    notes: str | None = None


class Group(Meta):
    roles: list[str] = Field(default_factory=list)


class Role(Meta):
    permissions: list[str]


class Permission(Meta):
    subpaths: dict[str, list[str]] = Field(default_factory=dict)
    resource_types: list[ResourceType] = Field(default_factory=list)
    actions: list[ActionType] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    restricted_fields: list[str] = Field(default_factory=list)
    allowed_fields_values: dict[str, Any] = Field(default_factory=dict)
    filter_fields_values: Any = None

    @field_validator("conditions", "restricted_fields", mode="before")
    @classmethod
    def _no_list(cls, value: Any) -> Any:
        # Dmart's own sample writes null for an empty list.
        return [] if value is None else value

    @field_validator("allowed_fields_values", mode="before")
    @classmethod
    def _no_values(cls, value: Any) -> Any:
        return {} if value is None else value


class Notification(Meta):
    type: str = "system"
    is_read: bool = False
    priority: str = "medium"
    entry: Locator | None = None
