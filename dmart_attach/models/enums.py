"""Dmart's enumerations, with Dmart's values."""

from enum import StrEnum


class ResourceType(StrEnum):
    user = "user"
    group = "group"
    folder = "folder"
    schema = "schema"
    content = "content"
    log = "log"
    acl = "acl"
    comment = "comment"
    media = "media"
    data_asset = "data_asset"
    locator = "locator"
    relationship = "relationship"
    alteration = "alteration"
    history = "history"
    space = "space"
    permission = "permission"
    role = "role"
    ticket = "ticket"
    json = "json"
    lock = "lock"
    post = "post"
    reaction = "reaction"
    reply = "reply"
    share = "share"
    plugin_wrapper = "plugin_wrapper"
    notification = "notification"
    csv = "csv"
    jsonl = "jsonl"
    sqlite = "sqlite"
    duckdb = "duckdb"
    parquet = "parquet"


class ContentType(StrEnum):
    text = "text"
    comment = "comment"
    reaction = "reaction"
    markdown = "markdown"
    html = "html"
    json = "json"
    image_jpeg = "image_jpeg"
    image_png = "image_png"
    image_svg = "image_svg"
    image_gif = "image_gif"
    image_webp = "image_webp"
    python = "python"
    pdf = "pdf"
    audio = "audio"
    video = "video"
    csv = "csv"
    parquet = "parquet"
    jsonl = "jsonl"
    apk = "apk"
    duckdb = "duckdb"
    sqlite = "sqlite"


class RequestType(StrEnum):
    create = "create"
    update = "update"
    patch = "patch"
    update_acl = "update_acl"
    assign = "assign"
    delete = "delete"
    move = "move"


class ActionType(StrEnum):
    query = "query"
    view = "view"
    update = "update"
    create = "create"
    delete = "delete"
    attach = "attach"
    assign = "assign"
    move = "move"
    progress_ticket = "progress_ticket"
    lock = "lock"
    unlock = "unlock"


class ReactionType(StrEnum):
    like = "like"
    dislike = "dislike"
    love = "love"
    care = "care"
    laughing = "laughing"
    sad = "sad"


class UserType(StrEnum):
    web = "web"
    mobile = "mobile"
    bot = "bot"


class Language(StrEnum):
    arabic = "arabic"
    english = "english"
    kurdish = "kurdish"
    french = "french"
    turkish = "turkish"


# Attachment kinds created from JSON records through /managed/request.
RECORD_ATTACHMENTS = frozenset(
    {
        ResourceType.comment,
        ResourceType.reply,
        ResourceType.reaction,
        ResourceType.share,
        ResourceType.json,
        ResourceType.relationship,
        ResourceType.alteration,
    }
)

# Attachment kinds that carry an uploaded file.
FILE_ATTACHMENTS = frozenset(
    {
        ResourceType.media,
        ResourceType.data_asset,
        ResourceType.csv,
        ResourceType.jsonl,
        ResourceType.parquet,
        ResourceType.sqlite,
        ResourceType.duckdb,
    }
)

ATTACHMENT_TYPES = RECORD_ATTACHMENTS | FILE_ATTACHMENTS | {ResourceType.lock}

# Content types whose body stays inside the meta file (Dmart never writes a payload file).
INLINE_CONTENT_TYPES = frozenset(
    {ContentType.text, ContentType.markdown, ContentType.html, ContentType.comment, ContentType.reaction}
)
