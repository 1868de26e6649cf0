"""Where Dmart keeps each thing: the paths of contract §5, checked before any disk access."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmart_attach.identifiers import (
    ROOT,
    is_shortname,
    is_space_name,
    is_subpath,
    normalize_subpath,
    split_subpath,
    subpath_segments,
)
from dmart_attach.models.enums import ATTACHMENT_TYPES, ResourceType

DM = ".dm"


class UnsafePath(ValueError):
    """An identifier that could reach outside the spaces tree."""


@dataclass(frozen=True)
class Address:
    """One resource in the tree: for an attachment, `subpath` is `parent_subpath/parent`."""

    space_name: str
    subpath: str
    shortname: str
    resource_type: ResourceType

    @property
    def is_attachment(self) -> bool:
        return self.resource_type in ATTACHMENT_TYPES

    @property
    def parent(self) -> tuple[str, str]:
        """The subpath and shortname of the entry an attachment belongs to."""
        return split_subpath(self.subpath)


def attachment_folder_name(resource_type: ResourceType) -> str:
    """The folder of one attachment kind under its parent's `.dm/<parent>/`."""
    return f"attachments.{resource_type.value}"


_REMEMBERED = 8192


def _remember(cache: dict[Any, Path], key: Any, path: Path) -> None:
    if len(cache) >= _REMEMBERED:
        cache.clear()
    cache[key] = path


class Layout:
    """Turns checked identifiers into paths under one spaces root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        # Checked paths by their identifiers: every request builds the same few again and again.
        self._folders: dict[tuple[str, str], Path] = {}
        self._entries: dict[tuple[str, str, str], Path] = {}

    def _checked(self, space_name: str, subpath: str, shortname: str | None = None) -> list[str]:
        if not is_space_name(space_name):
            raise UnsafePath(f"invalid space name {space_name!r}")
        if subpath != ROOT and not is_subpath(subpath):
            raise UnsafePath(f"invalid subpath {subpath!r}")
        if normalize_subpath(subpath) != subpath:
            raise UnsafePath(f"subpath {subpath!r} is not normalized")
        if shortname is not None and not is_shortname(shortname):
            raise UnsafePath(f"invalid shortname {shortname!r}")
        return subpath_segments(subpath)

    def space_dir(self, space_name: str) -> Path:
        self._checked(space_name, ROOT)
        return self.root / space_name

    def space_meta(self, space_name: str) -> Path:
        return self.space_dir(space_name) / DM / "meta.space.json"

    def folder_path(self, space_name: str, subpath: str) -> Path:
        """The directory of the folder at `subpath` (the space directory for the root)."""
        key = (space_name, subpath)
        path = self._folders.get(key)
        if path is None:
            segments = self._checked(space_name, subpath)
            path = self.root.joinpath(space_name, *segments)
            _remember(self._folders, key, path)
        return path

    def entry_dir(self, space_name: str, subpath: str, shortname: str) -> Path:
        """`S/P/.dm/n`: an entry's meta, attachments and history."""
        key = (space_name, subpath, shortname)
        path = self._entries.get(key)
        if path is None:
            self._checked(space_name, subpath, shortname)
            path = self.folder_path(space_name, subpath) / DM / shortname
            _remember(self._entries, key, path)
        return path

    def meta_file(self, address: Address) -> Path:
        space, subpath, shortname = address.space_name, address.subpath, address.shortname
        if address.resource_type == ResourceType.space:
            return self.space_meta(space)
        if address.resource_type == ResourceType.folder:
            self._checked(space, subpath, shortname)
            return self.folder_path(space, subpath) / shortname / DM / "meta.folder.json"
        if address.is_attachment:
            return self.attachment_dir(address) / f"meta.{shortname}.json"
        return self.entry_dir(space, subpath, shortname) / f"meta.{address.resource_type.value}.json"

    def attachment_dir(self, address: Address) -> Path:
        """`S/P/.dm/p/attachments.<type>` for an attachment of entry `p` at `P`."""
        if address.subpath == ROOT:
            raise UnsafePath("an attachment needs a parent entry in its subpath")
        parent_subpath, parent = address.parent
        base = self.entry_dir(address.space_name, parent_subpath, parent)
        self._checked(address.space_name, address.subpath, address.shortname)
        return base / attachment_folder_name(address.resource_type)

    def payload_dir(self, address: Address) -> Path:
        """The folder where the payload file of `address` lives."""
        if address.is_attachment:
            return self.attachment_dir(address)
        return self.folder_path(address.space_name, address.subpath)

    def payload_file(self, address: Address, body: str) -> Path:
        """The payload file named `body` (a bare file name, never a path) of `address`."""
        if "/" in body or "\\" in body or body in {"", ".", ".."} or "\x00" in body:
            raise UnsafePath(f"invalid payload file name {body!r}")
        return self.payload_dir(address) / body

    def history_file(self, space_name: str, subpath: str, shortname: str) -> Path:
        return self.entry_dir(space_name, subpath, shortname) / "history.jsonl"
