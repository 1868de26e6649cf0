"""Reading the tree for the index (one location, or everything under a folder) and stamping a folder's entries."""

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from dmart_attach.identifiers import ROOT, is_shortname, join_subpath
from dmart_attach.models.core import numbers
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.models.registry import META_CLASSES
from dmart_attach.storage.layout import DM, Address, Layout, UnsafePath

# Folder names such as `attachments.media` or the legacy `attachments.view.json`: the kind is the last part.
ATTACHMENT_FOLDER = re.compile(r"attachments(?:\.[^.]+)*\.([a-z_]+)")
ATTACHMENT_META = re.compile(r"meta\.(.+)\.json")

KIND_ENTRY, KIND_FOLDER, KIND_ATTACHMENT, KIND_SPACE = 0, 1, 2, 3
# Locks are shown as lock status, never listed, so the index leaves them out.
UNINDEXED = frozenset({ResourceType.lock})
# Meta fields the index never holds, so no query can answer, search, sort or group by them.
UNINDEXED_FIELDS = frozenset({"password"})


def attachment_kind(folder_name: str) -> ResourceType | None:
    """The attachment kind an `attachments.*` folder holds, if it is one."""
    match = ATTACHMENT_FOLDER.fullmatch(folder_name)
    if not match or match.group(1) not in ResourceType.__members__:
        return None
    return ResourceType(match.group(1))


def kind_of(address: Address) -> int:
    if address.resource_type == ResourceType.space:
        return KIND_SPACE
    if address.resource_type == ResourceType.folder:
        return KIND_FOLDER
    return KIND_ATTACHMENT if address.is_attachment else KIND_ENTRY


@dataclass(frozen=True)
class Row:
    """One indexed resource: where it is, its meta and its JSON body, as compact JSON text."""

    address: Address
    meta: dict[str, Any]
    meta_text: str
    body_text: str | None

    @property
    def kind(self) -> int:
        return kind_of(self.address)


@dataclass(frozen=True)
class Problem:
    """A meta file that cannot be indexed, and why."""

    path: Path
    reason: str


def _payload_file(meta_path: str, address: Address, file_name: str) -> str:
    if "/" in file_name or "\\" in file_name or file_name in {"", ".", ".."} or "\x00" in file_name:
        raise UnsafePath(f"invalid payload file name {file_name!r}")
    folder = os.path.dirname(meta_path)
    if not address.is_attachment:
        folder = os.path.dirname(folder)
        if address.resource_type != ResourceType.space:
            folder = os.path.dirname(folder)
    return os.path.join(folder, file_name)


def payload_path(meta_path: Path | str, address: Address, file_name: str) -> Path:
    """The payload file a meta names: beside an attachment's meta, else in the folder that holds the resource."""
    return Path(_payload_file(os.fspath(meta_path), address, file_name))


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


_LONG = 2**63


def _may_hold_long_integers(body: Any) -> bool:
    """Whether orjson may have read an integer beyond 64 bits (it reads those as floats, rounded)."""
    return any(isinstance(number, float) and abs(number) >= _LONG and number.is_integer() for number in numbers(body))


def _holds_long_integers(body: Any) -> bool:
    return any(isinstance(number, int) and not -_LONG <= number < 2 * _LONG for number in numbers(body))


def json_text(body: Any, raw: bytes | str) -> str:
    """The compact text of a JSON body orjson read from `raw`; integers beyond 64 bits are kept exactly."""
    if _may_hold_long_integers(body):
        exact = strict_json(raw)
        if _holds_long_integers(exact):
            return json.dumps(exact, ensure_ascii=False, separators=(",", ":"))
    return orjson.dumps(body).decode()


def strict_json(raw: bytes | str) -> Any:
    """JSON read exactly (integers of any size), refusing NaN, infinities and numbers beyond a double's range."""
    return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond the range of a JSON number")
    return number


def json_value(text: str) -> Any:
    """A body the index holds as text, read back with its integers beyond 64 bits exact."""
    body = orjson.loads(text)
    return json.loads(text) if _may_hold_long_integers(body) else body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_row(layout: Layout, address: Address, meta_path: Path | str | None = None) -> Row | Problem | None:
    """The row of `address` as the tree has it now; None when there is no meta there."""
    path = os.fspath(meta_path if meta_path is not None else layout.meta_file(address))
    try:
        raw = _read(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        meta = orjson.loads(raw)
        model = META_CLASSES[address.resource_type].model_validate(meta)
    except (orjson.JSONDecodeError, ValidationError, TypeError) as error:
        return Problem(Path(path), str(error).splitlines()[0])
    if not isinstance(meta, dict) or model.shortname != address.shortname:
        return Problem(Path(path), "the meta's shortname does not match its location")
    if not UNINDEXED_FIELDS.isdisjoint(meta):
        meta = {key: value for key, value in meta.items() if key not in UNINDEXED_FIELDS}
    body_text = None
    payload = model.payload
    if payload is not None and payload.content_type == ContentType.json and payload.file_name is not None:
        try:
            body_raw = _read(_payload_file(path, address, payload.file_name))
            body_text = json_text(orjson.loads(body_raw), body_raw)
        except (OSError, ValueError, RecursionError, orjson.JSONEncodeError, UnsafePath):
            # A body orjson cannot read (nested too deeply, NaN) is listed, its body not searched.
            body_text = None
    try:
        meta_text = orjson.dumps(meta).decode()
    except orjson.JSONEncodeError as error:
        return Problem(Path(path), str(error))
    return Row(address, meta, meta_text, body_text)


# An entry's meta file names by the name, for every kind an entry folder's `.dm/<shortname>/` holds.
_ENTRY_METAS = {
    f"meta.{kind.value}.json": kind for kind in META_CLASSES if kind not in (ResourceType.folder, ResourceType.space)
}


def _entry_addresses(space_name: str, subpath: str, dm: str) -> Iterator[tuple[Address, str]]:
    """Entries of one folder's `.dm` and the attachments of every entry and folder in it."""
    try:
        children = list(os.scandir(dm))
    except (FileNotFoundError, NotADirectoryError):
        return
    for child in children:
        if not child.is_dir() or not is_shortname(child.name):
            continue
        for item in os.scandir(child.path):
            resource_type = _ENTRY_METAS.get(item.name)
            if resource_type is not None:
                if item.is_file():
                    yield Address(space_name, subpath, child.name, resource_type), item.path
            elif item.is_dir():
                yield from _attachment_addresses(space_name, join_subpath(subpath, child.name), item)


def _attachment_addresses(space_name: str, subpath: str, folder: os.DirEntry[str]) -> Iterator[tuple[Address, str]]:
    resource_type = attachment_kind(folder.name)
    if resource_type is None or resource_type in UNINDEXED or resource_type not in META_CLASSES:
        return
    for item in os.scandir(folder.path):
        match = ATTACHMENT_META.fullmatch(item.name)
        if match and is_shortname(match.group(1)) and item.is_file():
            yield Address(space_name, subpath, match.group(1), resource_type), item.path


def entry_attachments(
    layout: Layout, *, space_name: str, subpath: str, shortname: str
) -> Iterator[tuple[Address, str]]:
    """Every attachment meta of the entry or folder `shortname` at `subpath`."""
    entry_dir = layout.entry_dir(space_name, subpath, shortname)
    try:
        folders = sorted(os.scandir(entry_dir), key=lambda item: item.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for item in folders:
        if item.is_dir():
            yield from _attachment_addresses(space_name, join_subpath(subpath, shortname), item)


def folder_contents(layout: Layout, *, space_name: str, subpath: str) -> Iterator[tuple[Address, str]]:
    """Every meta under the folder at `subpath` (not the folder's own), depth first."""
    directory = os.fspath(layout.folder_path(space_name, subpath))
    yield from _contents(space_name, subpath, directory)


def _contents(space_name: str, subpath: str, directory: str) -> Iterator[tuple[Address, str]]:
    yield from _entry_addresses(space_name, subpath, os.path.join(directory, DM))
    try:
        children = sorted(os.scandir(directory), key=lambda item: item.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for child in children:
        if child.name.startswith(".") or not is_shortname(child.name) or not child.is_dir():
            continue
        folder_meta = os.path.join(child.path, DM, "meta.folder.json")
        if os.path.isfile(folder_meta):
            yield Address(space_name, subpath, child.name, ResourceType.folder), folder_meta
            yield from _contents(space_name, join_subpath(subpath, child.name), child.path)


def space_contents(layout: Layout, space_name: str) -> Iterator[tuple[Address, str]]:
    """Every meta of a space, the space's own first."""
    meta = layout.space_meta(space_name)
    if meta.is_file():
        yield Address(space_name, ROOT, space_name, ResourceType.space), os.fspath(meta)
        yield from folder_contents(layout, space_name=space_name, subpath=ROOT)


def space_contents_after(layout: Layout, space_name: str) -> Iterator[tuple[Address, str]]:
    """Everything of a space except the space's own meta."""
    for address, path in space_contents(layout, space_name):
        if address.resource_type != ResourceType.space:
            yield address, path


# One entry's stamp: its meta file's inode, modification time in nanoseconds and size.
Stamp = tuple[int, int, int]


def entry_stamps(layout: Layout, *, space_name: str, subpath: str, resource_type: ResourceType) -> dict[str, Stamp]:
    """The shortnames of the `resource_type` entries directly in a folder, each with its meta file's stamp.

    An atomic write renames a new file into place, so the stamp changes with every write to the entry.
    """
    folder = layout.folder_path(space_name, subpath) / DM
    if not folder.is_dir():
        return {}
    name = f"meta.{resource_type.value}.json"
    stamps: dict[str, Stamp] = {}
    for entry_dir in folder.iterdir():
        try:
            status = (entry_dir / name).stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        stamps[entry_dir.name] = (status.st_ino, status.st_mtime_ns, status.st_size)
    return stamps
