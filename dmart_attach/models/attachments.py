"""Attachment kinds and the text that comment, reply, reaction and share carry."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dmart_attach.identifiers import SHORTNAME_PATTERN
from dmart_attach.models.core import Locator, Meta
from dmart_attach.models.enums import ContentType, ReactionType, ResourceType


class Attachment(Meta):
    author_locator: Locator | None = None


class Comment(Attachment):
    pass


class Reply(Attachment):
    pass


class Reaction(Attachment):
    pass


class Share(Attachment):
    pass


class Json(Attachment):
    pass


class Lock(Attachment):
    pass


class Media(Attachment):
    pass


class Relationship(Attachment):
    related_to: Locator
    attributes: dict[str, Any] = Field(default_factory=dict)


class Alteration(Attachment):
    requested_update: dict[str, Any]


class DataAsset(Attachment):
    pass


class Csv(DataAsset):
    pass


class Jsonl(DataAsset):
    pass


class Parquet(DataAsset):
    pass


class Sqlite(DataAsset):
    pass


class Duckdb(DataAsset):
    pass


class CommentText(BaseModel):
    """The text of a comment."""

    model_config = ConfigDict(extra="forbid")

    body: str
    state: str | None = None


class ReplyText(BaseModel):
    """The text of a reply, and the comment it answers on the same entry."""

    model_config = ConfigDict(extra="forbid")

    body: str
    state: str | None = None
    in_reply_to: str | None = Field(default=None, pattern=SHORTNAME_PATTERN)


class ReactionText(BaseModel):
    """The kind of a reaction."""

    model_config = ConfigDict(extra="forbid")

    type: ReactionType


class ShareText(BaseModel):
    """Who an entry was shared with, and an optional message."""

    model_config = ConfigDict(extra="forbid")

    body: str | None = None
    target: Locator | None = None


# The attachment kinds whose text arrives either as top-level attributes or as the payload body.
TEXT_MODELS: dict[ResourceType, tuple[type[BaseModel], ContentType]] = {
    ResourceType.comment: (CommentText, ContentType.comment),
    ResourceType.reply: (ReplyText, ContentType.comment),
    ResourceType.reaction: (ReactionText, ContentType.reaction),
    ResourceType.share: (ShareText, ContentType.json),
}


def split_text(resource_type: ResourceType, attributes: dict[str, Any]) -> dict[str, Any] | None:
    """Take the text fields of a comment-like attachment out of `attributes`, in either form.

    Returns None when the record names no text at all.
    """
    if resource_type not in TEXT_MODELS:
        return None
    model, _ = TEXT_MODELS[resource_type]
    text: dict[str, Any] = {}
    payload = attributes.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("body"), dict):
        text.update(payload["body"])
        attributes.pop("payload")
    elif isinstance(payload, dict) and isinstance(payload.get("body"), str):
        # Dmart also takes the bare text as the payload body: a comment's words, a reaction's kind.
        text["type" if resource_type == ResourceType.reaction else "body"] = payload["body"]
        attributes.pop("payload")
    for field in model.model_fields:
        if field in attributes:
            text[field] = attributes.pop(field)
    return text or None
