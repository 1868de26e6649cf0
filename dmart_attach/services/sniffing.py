"""What an uploaded file is, decided from its bytes and its extension, never from the declared MIME."""

import codecs
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import puremagic

from dmart_attach.errors import DmartError
from dmart_attach.models.core import reject_non_finite
from dmart_attach.models.enums import ContentType

# Dmart's EXT pattern, matched case-insensitively (a `.PNG` from a scanner is a png).
EXTENSIONS = frozenset(
    [
        "gif",
        "png",
        "jpeg",
        "jpg",
        "webp",
        "json",
        "md",
        "pdf",
        "wsq",
        "mp3",
        "mp4",
        "csv",
        "jsonl",
        "parquet",
        "sqlite",
        "sqlite3",
        "db",
        "db3",
        "s3db",
        "sl3",
        "duckdb",
        "svg",
        "xlsx",
        "docx",
        "apk",
    ]
)
EXT_PATTERN = "^(" + "|".join(sorted(EXTENSIONS)) + ")$"

# The content types each extension may hold, and the extension a kind is stored under by default.
_EXTENSION_KINDS: dict[str, frozenset[ContentType]] = {
    "png": frozenset({ContentType.image_png}),
    "jpg": frozenset({ContentType.image_jpeg}),
    "jpeg": frozenset({ContentType.image_jpeg}),
    "gif": frozenset({ContentType.image_gif}),
    "webp": frozenset({ContentType.image_webp}),
    "svg": frozenset({ContentType.image_svg}),
    "pdf": frozenset({ContentType.pdf}),
    "mp3": frozenset({ContentType.audio}),
    "mp4": frozenset({ContentType.video}),
    "json": frozenset({ContentType.json}),
    "csv": frozenset({ContentType.csv}),
    "jsonl": frozenset({ContentType.jsonl}),
    "parquet": frozenset({ContentType.parquet}),
    "duckdb": frozenset({ContentType.duckdb}),
    "db": frozenset({ContentType.sqlite, ContentType.duckdb}),
    "apk": frozenset({ContentType.apk}),
    **{ext: frozenset({ContentType.sqlite}) for ext in ("sqlite", "sqlite3", "db3", "s3db", "sl3")},
}
_DEFAULT_EXTENSION = {
    ContentType.image_png: "png",
    ContentType.image_jpeg: "jpeg",
    ContentType.image_gif: "gif",
    ContentType.image_webp: "webp",
    ContentType.image_svg: "svg",
    ContentType.pdf: "pdf",
    ContentType.audio: "mp3",
    ContentType.video: "mp4",
    ContentType.json: "json",
    ContentType.csv: "csv",
    ContentType.jsonl: "jsonl",
    ContentType.parquet: "parquet",
    ContentType.duckdb: "duckdb",
    ContentType.sqlite: "sqlite",
    ContentType.apk: "apk",
}
_MIME_KINDS = {
    "image/png": ContentType.image_png,
    "image/jpeg": ContentType.image_jpeg,
    "image/gif": ContentType.image_gif,
    "image/webp": ContentType.image_webp,
    "application/pdf": ContentType.pdf,
    "application/x-sqlite3": ContentType.sqlite,
    "application/vnd.sqlite3": ContentType.sqlite,
    "audio/mpeg": ContentType.audio,
    "video/mp4": ContentType.video,
    "application/zip": ContentType.apk,
    "application/vnd.android.package-archive": ContentType.apk,
}
_TEXT_KINDS = frozenset({ContentType.json, ContentType.csv, ContentType.jsonl, ContentType.image_svg})
_SVG_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.DOTALL | re.I)
_BOM = codecs.BOM_UTF8
# JSON payloads are parsed whole (for their schema, and for answers that inline them).
MAX_JSON_SIZE = 32 * 1_048_576


# A JSON file's body is answered inside records (envelope, record, attributes, payload), as a request's is.
@dataclass(frozen=True)
class Kind:
    """What a file is: its content type and the lower-case extension it is stored under."""

    content_type: ContentType
    extension: str


def not_supported(message: str = "The file type is not supported") -> DmartError:
    """Dmart's 406 for a file type it does not take."""
    return DmartError(406, "attachment", 217, message)


def client_extension(file_name: str) -> str | None:
    """The lower-cased extension of the last component of a client's file name, checked against EXT.

    None when the name has no extension at all, as clients name an in-memory file after its form
    field (`payload_file`): its bytes then say what it is.
    """
    last = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, extension = last.rpartition(".")
    extension = extension.lower()
    if not dot and last.strip():
        return None
    if not dot or not stem.strip(".") or extension not in EXTENSIONS:
        raise DmartError(
            400, "request", 402, f"Invalid payload file extention, it should end with {EXT_PATTERN} (any case)"
        )
    return extension


def parse_json(raw: bytes) -> Any:
    """A JSON file's value (after any UTF-8 BOM); NaN, infinities and overflowing numbers raise ValueError.

    RFC 8259 has no such numbers; Python's parser takes them, and nothing could answer them back as JSON.
    """
    return reject_non_finite(json.loads(raw.removeprefix(_BOM)))


def _magic_kind(head: bytes) -> ContentType | None:
    """The binary format the first bytes show; the magic library knows neither Parquet nor DuckDB."""
    if head.startswith(b"PAR1"):
        return ContentType.parquet
    if head[8:12] == b"DUCK":
        return ContentType.duckdb
    if head.startswith(b"PK\x03\x04"):
        return ContentType.apk
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    for match in matches:
        kind = _MIME_KINDS.get(match.mime_type)
        if kind is not None:
            return kind
        if match.mime_type.startswith("audio/"):
            return ContentType.audio
        if match.mime_type.startswith("video/"):
            return ContentType.video
    return None


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _text_fits(kind: ContentType, head: bytes, path: Path) -> bool:
    """A parse check of a text format; csv and jsonl are read in full by the data checks."""
    body = head.removeprefix(_BOM)
    if kind == ContentType.image_svg:
        return _SVG_START.match(body) is not None
    if kind == ContentType.json:
        if path.stat().st_size > MAX_JSON_SIZE:
            raise DmartError(413, "request", 413, f"A JSON payload file may be at most {MAX_JSON_SIZE} bytes")
        try:
            with path.open("rb") as handle:
                value = parse_json(handle.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False
        return _writable(value)
    return bool(body.strip())


def _writable(value: object) -> bool:
    """Whether the service can answer and index this JSON: no lone surrogates, 64-bit integers, bounded nesting."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def decide(*, extension: str | None, head: bytes, path: Path, declared: ContentType | None = None) -> Kind:
    """The kind of the file at `path` whose name ended in `extension`; refuse contradictions.

    A file whose name has no extension is what its bytes show, or the text format `declared` by its
    record when they pass that format's parse check.
    """
    if extension is None:
        return _unnamed_kind(head, path, declared)
    allowed = _EXTENSION_KINDS.get(extension)
    if allowed is None:
        raise not_supported(f"Files ending in .{extension} are not supported")
    found = _magic_kind(head)
    if found is None and allowed & _TEXT_KINDS and _is_text(head):
        found = next(iter(allowed))
        if not _text_fits(found, head, path):
            raise not_supported(f"The file is not a valid {extension} file")
    if found is None or found not in allowed:
        shown = found.value if found is not None else "unknown"
        raise not_supported(f"The file's bytes ({shown}) do not match its extension .{extension}")
    # `.db` may hold either database: it is stored under the extension of what it is.
    stored = extension if len(allowed) == 1 else _DEFAULT_EXTENSION[found]
    return Kind(content_type=found, extension=stored)


def _unnamed_kind(head: bytes, path: Path, declared: ContentType | None) -> Kind:
    found = _magic_kind(head)
    if found is None and declared in _TEXT_KINDS and _is_text(head):
        if not _text_fits(declared, head, path):
            raise not_supported(f"The file is not a valid {declared.value} file")
        found = declared
    if found is None or found not in _DEFAULT_EXTENSION:
        raise not_supported("A file name without an extension needs bytes that show the type, or a text content_type")
    return Kind(content_type=found, extension=_DEFAULT_EXTENSION[found])
