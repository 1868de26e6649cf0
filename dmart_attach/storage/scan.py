"""Listing the entries of one folder, and a cheap stamp that changes whenever any of them does."""

from dmart_attach.models.enums import ResourceType
from dmart_attach.storage.layout import DM, Layout

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
