"""Reading and writing metas and payload files in the spaces tree."""

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dmart_attach.errors import UnreadableMeta
from dmart_attach.identifiers import ROOT, join_subpath
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.models.registry import meta_class
from dmart_attach.storage.atomic import fsync_dir, make_dirs, stage_bytes, sweep_temporaries, write_bytes
from dmart_attach.storage.index import Index
from dmart_attach.storage.layout import DM, Address, Layout, UnsafePath, attachment_folder_name
from dmart_attach.storage.moves import MOVES, finish_moves, move_paths
from dmart_attach.storage.removal import TRASH, finish_removals, remove_paths
from dmart_attach.storage.scan import strict_json
from dmart_attach.storage.streams import StagedFile

logger = logging.getLogger(__name__)

# Folder names such as `attachments.media` or the legacy `attachments.view.json`: the kind is the last part.
_ATTACHMENT_FOLDER = re.compile(r"attachments(?:\.[^.]+)*\.([a-z_]+)")
_ENTRY_META = re.compile(r"meta\.([a-z_]+)\.json")


def dump_meta(meta: Meta) -> bytes:
    """A meta file's bytes as Dmart writes them: compact JSON without nulls, raw UTF-8."""
    return meta.model_dump_json(exclude_none=True).encode()


def dump_payload(body: Any) -> bytes:
    """A JSON payload file's bytes as Dmart writes them (`json.dumps`, ASCII-escaped)."""
    return json.dumps(body).encode()


class Tree:
    """The spaces tree under one root folder."""

    def __init__(self, root: Path) -> None:
        self.layout = Layout(root)
        self.root = self.layout.root
        self.trash = self.root / TRASH
        self.moves = self.root / MOVES
        self.index: Index | None = None

    @contextmanager
    def _indexed(self, address: Address) -> Iterator[None]:
        """Keep the index in step with a write to `address`, even one that fails half way."""
        if self.index is None:
            yield
            return
        pending = self.index.begin_write(address)
        try:
            yield
        finally:
            self.index.end_write(pending, address)

    def recover(self) -> int:
        """Finish moves and removals a crash interrupted, then remove the files it left half made; answer how many.

        Only safe while no other process writes to the tree.
        """
        finished = finish_moves(self.moves) + finish_removals(self.trash)
        for address in self.index.interrupted() if self.index is not None else []:
            finished += self._drop_uncommitted_payloads(address)
        return finished + sweep_temporaries(self.root)

    def _drop_uncommitted_payloads(self, address: Address) -> int:
        """Remove the payload files of `address` that no meta names: a write killed before its meta committed it."""
        if address.resource_type == ResourceType.space:
            return 0
        try:
            folder = self.layout.payload_dir(address)
            metas = [self.layout.meta_file(address)]
        except UnsafePath:
            return 0
        if not address.is_attachment:
            # An entry and a folder of one name keep their payload files side by side, named after it.
            entry_dir = self.layout.entry_dir(address.space_name, address.subpath, address.shortname)
            folder_meta = self.layout.folder_path(address.space_name, address.subpath) / address.shortname
            metas = [*entry_dir.glob("meta.*.json"), folder_meta / DM / "meta.folder.json"]
        named: set[str] = set()
        for meta_path in metas:
            try:
                payload = json.loads(meta_path.read_bytes()).get("payload")
            except FileNotFoundError:
                continue
            except (OSError, ValueError, AttributeError):
                # An unreadable meta might name any file: leave them all for the health report.
                return 0
            if isinstance(payload, dict) and isinstance(payload.get("body"), str):
                named.add(payload["body"])
        strays = [
            path
            for path in folder.glob(f"{address.shortname}.*")
            if path.stem == address.shortname and path.name not in named and path.is_file()
        ]
        for path in strays:
            path.unlink()
            logger.warning("removed a payload file no meta names", extra={"path": str(path)})
        if strays:
            fsync_dir(folder)
        return len(strays)

    def space_exists(self, space_name: str) -> bool:
        return self.layout.space_meta(space_name).is_file()

    def list_spaces(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(child.name for child in self.root.iterdir() if (child / DM / "meta.space.json").is_file())

    def load(self, address: Address) -> Meta | None:
        """The meta at `address`, or None when there is none."""
        path = self.layout.meta_file(address)
        if address.resource_type == ResourceType.space and address.shortname != address.space_name:
            # A space's meta is its own: `S` never names the space meta of another name.
            return None
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return meta_class(address.resource_type).model_validate_json(raw)
        except ValidationError:
            raise UnreadableMeta(address.space_name, address.subpath, address.shortname) from None

    def exists(self, address: Address) -> bool:
        return self.layout.meta_file(address).is_file()

    def entry_type(self, *, space_name: str, subpath: str, shortname: str) -> ResourceType | None:
        """The resource type of the entry or folder named `shortname` at `subpath`, if any."""
        entry_dir = self.layout.entry_dir(space_name, subpath, shortname)
        if (entry_dir.parent.parent / shortname / DM / "meta.folder.json").is_file():
            return ResourceType.folder
        if entry_dir.is_dir():
            for child in entry_dir.iterdir():
                match = _ENTRY_META.fullmatch(child.name)
                if match and match.group(1) in ResourceType.__members__:
                    return ResourceType(match.group(1))
        return None

    def folder_exists(self, space_name: str, subpath: str) -> bool:
        """Whether `subpath` is an existing folder (the root always is, in an existing space)."""
        if subpath == ROOT:
            return self.space_exists(space_name)
        return (self.layout.folder_path(space_name, subpath) / DM / "meta.folder.json").is_file()

    def attachment_taken(self, address: Address) -> bool:
        """Whether any attachment of the same parent already has this shortname."""
        parent_subpath, parent = address.parent
        entry_dir = self.layout.entry_dir(address.space_name, parent_subpath, parent)
        if not entry_dir.is_dir():
            return False
        name = f"meta.{address.shortname}.json"
        return any((folder / name).is_file() for folder in entry_dir.glob("attachments.*"))

    def save(
        self,
        address: Address,
        meta: Meta,
        *,
        payload: bytes | None = None,
        staged: StagedFile | None = None,
        stale_payload: str | None = None,
    ) -> None:
        """Write the payload file (bytes, or a staged upload renamed into place) and then the meta.

        The meta is written last: it is what makes the entry exist or change. `stale_payload`
        names a previous payload file to remove once the new one is in place.
        """
        meta_path = self.layout.meta_file(address)
        # Serialized before anything is written, so a meta that cannot be written leaves nothing behind.
        meta_bytes = dump_meta(meta)
        with self._indexed(address):
            make_dirs(meta_path.parent)
            file_name = meta.payload.file_name if meta.payload is not None else None
            payload_path = self.layout.payload_file(address, file_name) if file_name is not None else None
            replacement: Path | None = None
            if payload_path is not None and payload_path.is_file() and meta_path.is_file():
                if staged is not None:
                    staged.finish()
                    replacement = staged.path
                elif payload is not None:
                    replacement = stage_bytes(payload_path, payload)
            if replacement is not None and payload_path is not None:
                self._replace_both(meta_path, meta_bytes, payload_path, replacement)
            else:
                if payload is not None and payload_path is not None:
                    make_dirs(payload_path.parent)
                    write_bytes(payload_path, payload)
                if staged is not None and payload_path is not None:
                    staged.commit(payload_path)
                write_bytes(meta_path, meta_bytes)
            if stale_payload and stale_payload != file_name:
                stale = self.layout.payload_file(address, stale_payload)
                stale.unlink(missing_ok=True)
                fsync_dir(stale.parent)

    def _replace_both(self, meta_path: Path, meta: bytes, payload_path: Path, replacement: Path) -> None:
        """Rename `replacement` onto a committed payload file and write its meta: a crash leaves both old or both new.

        Renaming the new payload over the old one before writing the meta would leave, after a crash in between,
        the new body under the old meta; the two renames are journaled like a move instead.
        """
        staged_meta = stage_bytes(meta_path, meta)
        try:
            move_paths(self.moves, [(replacement, payload_path), (staged_meta, meta_path)], [])
        except BaseException:
            staged_meta.unlink(missing_ok=True)
            replacement.unlink(missing_ok=True)
            raise

    def read_payload(self, address: Address, name: str) -> bytes | None:
        """The bytes of the payload file `name` of `address`, or None when it is missing."""
        try:
            return self.layout.payload_file(address, name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def payload_path(self, address: Address, name: str) -> Path:
        return self.layout.payload_file(address, name)

    def read_json_payload(self, address: Address, meta: Meta) -> Any:
        """The parsed JSON body of `meta`'s payload file, or None."""
        if meta.payload is None or meta.payload.content_type != ContentType.json or meta.payload.file_name is None:
            return None
        raw = self.read_payload(address, meta.payload.file_name)
        if raw is None:
            return None
        try:
            # A file that does not parse is read as no body, as is one with numbers JSON cannot write back
            # (NaN, infinities, or a literal beyond a double's range); deep nesting is answered by the
            # fallback encoder.
            return strict_json(raw)
        except (ValueError, RecursionError):
            logger.warning("unreadable JSON payload", extra={"address": str(address)})
            return None

    def list_attachments(self, *, space_name: str, subpath: str, shortname: str) -> list[tuple[ResourceType, Meta]]:
        """Every readable attachment of the entry `shortname` at `subpath`, kind by kind."""
        entry_dir = self.layout.entry_dir(space_name, subpath, shortname)
        if not entry_dir.is_dir():
            return []
        found: list[tuple[ResourceType, Meta]] = []
        for folder in sorted(entry_dir.glob("attachments.*")):
            match = _ATTACHMENT_FOLDER.fullmatch(folder.name)
            if not match or match.group(1) not in ResourceType.__members__ or not folder.is_dir():
                continue
            resource_type = ResourceType(match.group(1))
            for meta_path in sorted(folder.glob("meta.*.json")):
                try:
                    meta = meta_class(resource_type).model_validate_json(meta_path.read_bytes())
                except (OSError, ValidationError, KeyError):
                    logger.warning("unreadable attachment meta", extra={"path": str(meta_path)})
                    continue
                found.append((resource_type, meta))
        return found

    def attachments_under(self, *, space_name: str, subpath: str, resource_type: ResourceType) -> list[Meta]:
        """Every readable attachment of one kind on the entries and folders anywhere inside the folder `subpath`."""
        folder = self.layout.folder_path(space_name, subpath)
        found: list[Meta] = []
        for meta_path in sorted(folder.glob(f"**/{DM}/*/{attachment_folder_name(resource_type)}/meta.*.json")):
            try:
                found.append(meta_class(resource_type).model_validate_json(meta_path.read_bytes()))
            except (OSError, ValidationError):
                logger.warning("unreadable attachment meta", extra={"path": str(meta_path)})
        return found

    def remove(self, address: Address, meta: Meta) -> None:
        """Remove what `address` is, with everything that belongs to it."""
        layout = self.layout
        space, subpath, shortname = address.space_name, address.subpath, address.shortname
        paths: list[Path] = []
        file_name = meta.payload.file_name if meta.payload is not None else None
        if address.resource_type == ResourceType.space:
            paths.append(layout.space_dir(space))
        elif address.resource_type == ResourceType.folder:
            paths += [
                layout.folder_path(space, join_subpath(subpath, shortname)),
                layout.entry_dir(space, subpath, shortname),
                layout.folder_path(space, subpath) / f"{shortname}.json",
            ]
        elif address.is_attachment:
            paths.append(layout.meta_file(address))
            if file_name is not None:
                paths.append(layout.payload_file(address, file_name))
        else:
            paths.append(layout.entry_dir(space, subpath, shortname))
            if file_name is not None:
                paths.append(layout.payload_file(address, file_name))
        with self._indexed(address):
            remove_paths(self.trash, paths)
            if address.is_attachment:
                folder = layout.attachment_dir(address)
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()

    def move(self, source: Address, target: Address, *, old: Meta, new: Meta) -> None:
        """Move what `source` is, with everything that belongs to it, to `target`; `new` is its rewritten meta."""
        with self._indexed(source), self._indexed(target):
            self._move(source, target, old=old, new=new)

    def _move(self, source: Address, target: Address, *, old: Meta, new: Meta) -> None:
        layout = self.layout
        renames: list[tuple[Path, Path]] = []
        if source.resource_type == ResourceType.folder:
            renames.append(
                (
                    layout.folder_path(source.space_name, join_subpath(source.subpath, source.shortname)),
                    layout.folder_path(target.space_name, join_subpath(target.subpath, target.shortname)),
                )
            )
        if source.is_attachment:
            renames.append((layout.meta_file(source), layout.meta_file(target)))
        else:
            renames.append(
                (
                    layout.entry_dir(source.space_name, source.subpath, source.shortname),
                    layout.entry_dir(target.space_name, target.subpath, target.shortname),
                )
            )
        old_file = old.payload.file_name if old.payload is not None else None
        new_file = new.payload.file_name if new.payload is not None else None
        if old_file is not None and new_file is not None:
            renames.append((layout.payload_file(source, old_file), layout.payload_file(target, new_file)))
        move_paths(self.moves, renames, [(layout.meta_file(target), dump_meta(new))])
        if source.is_attachment:
            folder = layout.attachment_dir(source)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
