"""The real state of a space: what its tree holds, what is broken in it, and whether the index agrees."""

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from dmart_attach.errors import DmartError, invalid_space
from dmart_attach.models.core import Payload
from dmart_attach.models.enums import ContentType
from dmart_attach.services.caller import Caller
from dmart_attach.services.payloads import checksum
from dmart_attach.services.schemas import Schemas
from dmart_attach.services.store import Store
from dmart_attach.storage.atomic import TEMP_PREFIX
from dmart_attach.storage.scan import (
    KIND_ATTACHMENT,
    KIND_ENTRY,
    KIND_FOLDER,
    Row,
    json_value,
    payload_path,
    read_row,
    space_contents,
    strict_json,
)

logger = logging.getLogger(__name__)

# Files of the tree that are neither metas nor payloads.
_BOOKKEEPING = {"history.jsonl", "events.jsonl"}


def _digests(path: Path) -> set[str]:
    data = path.read_bytes()
    return {hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest()}


class Health:
    """Soft and hard checks of one space."""

    def __init__(self, *, store: Store, schemas: Schemas) -> None:
        self.store = store
        self.schemas = schemas

    def report(self, space_name: str, health_type: str, caller: Caller) -> dict[str, Any]:
        """Counts, broken metas, orphan and missing payloads, index drift; checksums too when `hard`."""
        if caller.shortname != self.store.settings.admin_shortname:
            raise DmartError(401, "access", 401, "You don't have permission to this action [23]")
        if health_type not in ("soft", "hard"):
            raise DmartError(400, "media", 403, "Invalid health check type")
        hard = health_type == "hard"
        tree = self.store.tree
        if not tree.space_exists(space_name):
            raise invalid_space(space_name)
        layout = tree.layout
        space_dir = layout.space_dir(space_name)
        counts = {KIND_ENTRY: 0, KIND_FOLDER: 0, KIND_ATTACHMENT: 0}
        invalid: list[dict[str, str]] = []
        missing: list[str] = []
        mismatched: list[str] = []
        referenced: set[Path] = set()
        on_disk: dict[tuple[str, str, str, str], tuple[str, str | None]] = {}

        def where(path: Path) -> str:
            return str(path.relative_to(space_dir))

        for address, meta_path in space_contents(layout, space_name):
            row = read_row(layout, address, meta_path)
            if not isinstance(row, Row):
                invalid.append({"path": where(Path(meta_path)), "reason": row.reason if row else "unreadable"})
                continue
            counts[row.kind] = counts.get(row.kind, 0) + 1
            key = (space_name, address.subpath, address.shortname, address.resource_type.value)
            on_disk[key] = (row.meta_text, row.body_text)
            payload = Payload.model_validate(row.meta["payload"]) if row.meta.get("payload") else None
            if payload is None or payload.file_name is None:
                continue
            path = payload_path(meta_path, address, payload.file_name)
            referenced.add(path)
            if not path.is_file():
                missing.append(where(path))
                continue
            if payload.content_type == ContentType.json and row.body_text is None and not _readable_json(path):
                invalid.append({"path": where(path), "reason": "payload: not JSON the service can read"})
                continue
            if payload.schema_shortname and row.body_text is not None:
                try:
                    self.schemas.validate(
                        space_name=space_name,
                        schema_shortname=payload.schema_shortname,
                        body=json_value(row.body_text),
                    )
                except DmartError as error:
                    invalid.append({"path": where(Path(meta_path)), "reason": f"payload: {error.message}"})
            if hard and payload.checksum:
                expected = payload.checksum
                body_ok = row.body_text is not None and checksum(json_value(row.body_text)) == expected
                if not body_ok and expected not in _digests(path):
                    mismatched.append(where(path))

        orphans = []
        for folder, folders, files in os.walk(space_dir):
            folders[:] = [name for name in folders if not name.startswith(TEMP_PREFIX)]
            for name in files:
                path = Path(folder) / name
                is_meta = name.startswith("meta.") and name.endswith(".json")
                if not is_meta and name not in _BOOKKEEPING and path not in referenced:
                    orphans.append(where(path))

        indexed = self.store.index.snapshot(space_name)
        drift = {
            "missing_from_index": sorted("/".join(key[1:]) for key in on_disk.keys() - indexed.keys()),
            "stale_in_index": sorted("/".join(key[1:]) for key in indexed.keys() - on_disk.keys()),
            "differing": sorted(
                "/".join(key[1:]) for key in on_disk.keys() & indexed.keys() if on_disk[key] != indexed[key]
            ),
        }
        report: dict[str, Any] = {
            "space_name": space_name,
            "type": "hard" if hard else "soft",
            "entries": counts[KIND_ENTRY],
            "folders": counts[KIND_FOLDER],
            "attachments": counts[KIND_ATTACHMENT],
            "invalid_metas": invalid,
            "orphan_payloads": sorted(orphans),
            "missing_payloads": sorted(missing),
            "index_drift": drift,
        }
        if hard:
            report["checksum_mismatches"] = sorted(mismatched)
        problems = [invalid, orphans, missing, mismatched, *drift.values()]
        report["healthy"] = not any(problems)
        logger.info("health check", extra={"space": space_name, "healthy": report["healthy"]})
        return report


def _readable_json(path: Path) -> bool:
    """Whether a JSON payload file the index could not hold can still be read and answered (deep nesting)."""
    try:
        strict_json(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return True
