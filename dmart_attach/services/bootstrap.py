"""First start: the management space, the admin, and the role that gives it every right."""

import logging
import secrets

from dmart_attach.config import Settings
from dmart_attach.identifiers import ROOT
from dmart_attach.models.core import Folder, Payload, Permission, Role, Schema, Space, User
from dmart_attach.models.enums import ActionType, ContentType, ResourceType
from dmart_attach.services.payloads import checksum
from dmart_attach.services.schemas import META_SCHEMA, SCHEMA_FOLDER
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address
from dmart_attach.storage.tree import dump_payload

logger = logging.getLogger(__name__)

ADMIN_ROLE = "super_admin"
ADMIN_PERMISSION = "super_admin_all"
MANAGEMENT_FOLDERS = ("users", "roles", "permissions", "groups", SCHEMA_FOLDER)
# The document every schema entry's own JSON Schema is checked against.
META_SCHEMA_DOCUMENT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {}, "title": {"type": "string"}, "properties": {"type": "object"}},
}


def bootstrap(store: Store) -> str | None:
    """Create what a first start needs; answer the admin password when one was generated."""
    settings: Settings = store.settings
    tree = store.tree
    tree.root.mkdir(parents=True, exist_ok=True)
    space = settings.management_space
    admin = settings.admin_shortname
    with store.locks.hold("bootstrap"):
        # Only a start that no running process shares this tree with may finish or clear what a crash left:
        # a worker starting beside live ones would otherwise finish their moves or remove their temporary files.
        if store.claim_tree():
            recovered = tree.recover()
            if recovered:
                logger.warning("cleared what a crash left in the tree", extra={"operations": recovered})
        state = store.index.prepare()
        logger.info("index ready", extra={"index": state})
        if not tree.space_exists(space):
            meta = Space(shortname=space, owner_shortname=admin, is_active=True, indexing_enabled=True)
            tree.save(Address(space, ROOT, space, ResourceType.space), meta)
            logger.info("created the management space", extra={"space": space})
        for folder in MANAGEMENT_FOLDERS:
            address = Address(space, ROOT, folder, ResourceType.folder)
            if not tree.exists(address):
                tree.save(address, Folder(shortname=folder, owner_shortname=admin, is_active=True))
        _ensure_meta_schema(store, space, admin)
        user_address = Address(space, "users", admin, ResourceType.user)
        if tree.exists(user_address):
            return None
        _ensure_admin_role(store, space, admin)
        password = settings.admin_password or secrets.token_urlsafe(12)
        user = User(
            shortname=admin,
            owner_shortname=admin,
            is_active=True,
            roles=[ADMIN_ROLE],
            password=store.passwords.hash(password),
        )
        tree.save(user_address, user)
        logger.info("created the admin user", extra={"user": admin})
        return None if settings.admin_password else password


def _ensure_meta_schema(store: Store, space: str, admin: str) -> None:
    address = Address(space, SCHEMA_FOLDER, META_SCHEMA, ResourceType.schema)
    if store.tree.exists(address):
        return
    payload = Payload(
        content_type=ContentType.json, body=f"{META_SCHEMA}.json", checksum=checksum(META_SCHEMA_DOCUMENT)
    )
    meta = Schema(shortname=META_SCHEMA, owner_shortname=admin, is_active=True, payload=payload)
    store.tree.save(address, meta, payload=dump_payload(META_SCHEMA_DOCUMENT))


def _ensure_admin_role(store: Store, space: str, admin: str) -> None:
    tree = store.tree
    role_address = Address(space, "roles", ADMIN_ROLE, ResourceType.role)
    if not tree.exists(role_address):
        tree.save(
            role_address,
            Role(shortname=ADMIN_ROLE, owner_shortname=admin, is_active=True, permissions=[ADMIN_PERMISSION]),
        )
    permission_address = Address(space, "permissions", ADMIN_PERMISSION, ResourceType.permission)
    if not tree.exists(permission_address):
        permission = Permission(
            shortname=ADMIN_PERMISSION,
            owner_shortname=admin,
            is_active=True,
            subpaths={"__all_spaces__": ["__all_subpaths__"]},
            resource_types=list(ResourceType),
            actions=list(ActionType),
        )
        tree.save(permission_address, permission)
