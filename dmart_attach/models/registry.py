"""Which meta class stores which resource type."""

from dmart_attach.models import attachments as att
from dmart_attach.models import core
from dmart_attach.models.enums import ResourceType

META_CLASSES: dict[ResourceType, type[core.Meta]] = {
    ResourceType.space: core.Space,
    ResourceType.folder: core.Folder,
    ResourceType.content: core.Content,
    ResourceType.post: core.Post,
    ResourceType.log: core.Log,
    ResourceType.schema: core.Schema,
    ResourceType.ticket: core.Ticket,
    ResourceType.user: core.User,
    ResourceType.group: core.Group,
    ResourceType.role: core.Role,
    ResourceType.permission: core.Permission,
    ResourceType.notification: core.Notification,
    ResourceType.comment: att.Comment,
    ResourceType.reply: att.Reply,
    ResourceType.reaction: att.Reaction,
    ResourceType.share: att.Share,
    ResourceType.json: att.Json,
    ResourceType.lock: att.Lock,
    ResourceType.media: att.Media,
    ResourceType.relationship: att.Relationship,
    ResourceType.alteration: att.Alteration,
    ResourceType.data_asset: att.DataAsset,
    ResourceType.csv: att.Csv,
    ResourceType.jsonl: att.Jsonl,
    ResourceType.parquet: att.Parquet,
    ResourceType.sqlite: att.Sqlite,
    ResourceType.duckdb: att.Duckdb,
}


def meta_class(resource_type: ResourceType) -> type[core.Meta]:
    """The meta class of `resource_type`; KeyError for types that have none."""
    return META_CLASSES[resource_type]
