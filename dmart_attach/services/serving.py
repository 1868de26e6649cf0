"""How a stored payload file is served: its media type, validator and whether a browser may show it."""

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ContentType

_MEDIA_TYPES = {
    ContentType.text: "text/plain; charset=utf-8",
    ContentType.markdown: "text/markdown; charset=utf-8",
    ContentType.html: "text/html; charset=utf-8",
    ContentType.json: "application/json",
    ContentType.image_jpeg: "image/jpeg",
    ContentType.image_png: "image/png",
    ContentType.image_svg: "image/svg+xml",
    ContentType.image_gif: "image/gif",
    ContentType.image_webp: "image/webp",
    ContentType.python: "text/x-python; charset=utf-8",
    ContentType.pdf: "application/pdf",
    ContentType.audio: "audio/mpeg",
    ContentType.video: "video/mp4",
    ContentType.csv: "text/csv; charset=utf-8",
    ContentType.jsonl: "application/jsonlines",
    ContentType.parquet: "application/vnd.apache.parquet",
    ContentType.duckdb: "application/octet-stream",
    ContentType.sqlite: "application/vnd.sqlite3",
    ContentType.apk: "application/vnd.android.package-archive",
}
# Passive formats a browser may show in place; everything else (SVG and HTML above all) is a download.
_INLINE = frozenset(
    {
        ContentType.image_jpeg,
        ContentType.image_png,
        ContentType.image_gif,
        ContentType.image_webp,
        ContentType.pdf,
        ContentType.audio,
        ContentType.video,
    }
)
_RASTER_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_CHUNK = 1_048_576


@dataclass(frozen=True)
class ServedFile:
    """A payload file with the headers it is served with."""

    path: Path
    media_type: str
    etag: str
    file_name: str
    inline: bool


def file_checksum(path: Path) -> str:
    """The sha256 of a file, read in chunks; for metas of older trees that carry none."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def served_file(meta: Meta, path: Path) -> ServedFile:
    """How to serve `path`, the payload file of `meta`."""
    payload = meta.payload
    content_type = payload.content_type if payload is not None else None
    media_type = _MEDIA_TYPES.get(content_type, "application/octet-stream") if content_type else None
    if content_type == ContentType.image_jpeg:
        # Older trees store the bare `image` for every raster image: the extension tells which one.
        guessed = mimetypes.guess_type(path.name)[0]
        if guessed in _RASTER_IMAGES:
            media_type = guessed
    checksum = payload.checksum if payload is not None and payload.checksum else file_checksum(path)
    return ServedFile(
        path=path,
        media_type=media_type or "application/octet-stream",
        etag=f'"{checksum}"',
        file_name=path.name,
        inline=content_type in _INLINE,
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak or strong) or is `*`."""
    if not if_none_match:
        return False
    candidates = [item.strip() for item in if_none_match.split(",")]
    return "*" in candidates or any(item.removeprefix("W/") == etag for item in candidates)
