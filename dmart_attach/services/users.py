"""A user's own account: profile, password, registration, and the admin's reset (contract §4.3)."""

import logging
import re
from typing import Any

from pydantic import ValidationError

from dmart_attach.clock import now
from dmart_attach.errors import DmartError, RecordInvalid
from dmart_attach.models.api import Record
from dmart_attach.models.core import User
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services import history
from dmart_attach.services.access import USERS_FOLDER, Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.locking import Locking
from dmart_attach.services.records import to_record
from dmart_attach.services.store import Store
from dmart_attach.services.unique import UniqueFields
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

# Dmart's password rule: 8 to 64 characters with at least one digit and one capital (or Arabic) letter.
_PASSWORD = re.compile(r"(?=.*[0-9\u0660-\u0669])(?=.*[A-Z\u0621-\u064a]).{8,64}", re.DOTALL)
AVATAR = "avatar"
# What a user may change on their own account, besides the password.
SELF_EDITABLE = ("displayname", "description", "email", "msisdn", "language")
_PROFILE_FIELDS = {
    "email",
    "displayname",
    "description",
    "msisdn",
    "type",
    "language",
    "is_email_verified",
    "is_msisdn_verified",
    "force_password_change",
}

NOT_AVAILABLE = DmartError(400, "request", 230, "Sending codes by SMS or e-mail (OTP) is not available on this server")


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or not _PASSWORD.fullmatch(password):
        raise DmartError(
            400,
            "request",
            17,
            "The password must have 8 to 64 characters with at least one digit and one capital letter",
        )
    return password


def _invalid(error: ValidationError) -> RecordInvalid:
    return RecordInvalid(
        [
            {"type": item["type"], "loc": ["attributes", *item["loc"]], "msg": item["msg"]}
            for item in error.errors(include_url=False)
        ]
    )


class Users:
    """The user routes besides logging in and out."""

    def __init__(self, *, store: Store, access: Access, locking: Locking) -> None:
        self.store = store
        self.access = access
        self.locking = locking
        self.unique = UniqueFields(store)
        self.space = store.settings.management_space

    def _address(self, shortname: str) -> Address:
        return self.store.address(self.space, USERS_FOLDER, shortname, ResourceType.user)

    def _load(self, shortname: str) -> User:
        user = self.access.user(shortname)
        if user is None:
            raise DmartError(404, "db", 220, f"User {shortname} is not available")
        return user

    def profile(self, caller: Caller) -> dict[str, Any]:
        """The caller's own record, with its computed permission map and without its password."""
        address = self._address(caller.shortname)
        user = self._load(caller.shortname)
        attributes = user.model_dump(mode="json", include=_PROFILE_FIELDS, exclude_none=True)
        if user.payload is not None:
            payload = user.payload.model_dump(mode="json", exclude_none=True)
            body = self.store.body_of(address, user)
            if body is not None:
                payload["body"] = body
            attributes["payload"] = payload
        attributes["permissions"] = self.access.permission_map(user)
        attributes["roles"] = user.roles
        attributes["groups"] = user.groups
        avatars: dict[str, list[dict[str, Any]]] = {}
        found = self.store.tree.list_attachments(space_name=self.space, subpath=USERS_FOLDER, shortname=user.shortname)
        for resource_type, meta in found:
            if meta.shortname == AVATAR:
                own_subpath = f"{USERS_FOLDER}/{user.shortname}"
                avatars.setdefault(resource_type.value, []).append(
                    to_record(meta, resource_type=resource_type, subpath=own_subpath)
                )
        return {
            "resource_type": "user",
            "shortname": user.shortname,
            "subpath": USERS_FOLDER,
            "attributes": attributes,
            "attachments": avatars,
            "retrieve_lock_status": False,
        }

    def update_profile(self, caller: Caller, record: Record) -> None:
        """Change the caller's own displayname, description, contacts, language or password."""
        attributes = record.attributes
        password = attributes.get("password")
        if password is not None:
            _check_password(password)
        address = self._address(caller.shortname)
        with self.store.write_lock(address, *self.unique.lock_keys(address)):
            user = self._load(caller.shortname)
            self.locking.ensure_unlocked(address, caller)
            if password is not None:
                old_password = attributes.get("old_password")
                if not isinstance(old_password, str):
                    raise DmartError(400, "request", 202, "old_password is required to change the password")
                if not self.store.passwords.verify(user.password, old_password):
                    raise DmartError(401, "request", 19, "mismatch with the information provided")
            values = user.model_dump()
            values.update({key: attributes[key] for key in SELF_EDITABLE if key in attributes})
            if values["email"] != user.email:
                values["is_email_verified"] = False
            if values["msisdn"] != user.msisdn:
                values["is_msisdn_verified"] = False
            values["updated_at"] = now()
            try:
                updated = User.model_validate(values)
            except ValidationError as error:
                raise _invalid(error) from None
            self.unique.check_contacts(address, updated)
            if password is not None:
                updated.password = self.store.passwords.hash(password)
                updated.force_password_change = False
            self.store.tree.save(address, updated)
            keys = {key for key in SELF_EDITABLE if key in attributes} | {"is_email_verified", "is_msisdn_verified"}
            if password is not None:
                # The hash itself is never written into the history.
                keys.add("force_password_change")
            old = history.flatten(user.model_dump(mode="json"))
            new = history.flatten(updated.model_dump(mode="json"))
            self.store.record_history(address, caller, history.diff(old, new, keys))
        if password is not None:
            self.store.sessions.end_user_sessions(caller.shortname)

    def check_existing(self, *, shortname: str | None, email: str | None, msisdn: str | None) -> dict[str, Any]:
        """Whether a shortname, e-mail or msisdn is still free; the first taken one is named."""
        if shortname and self.access.user(shortname) is not None:
            return {"unique": False, "field": "shortname"}
        for field, value in (("email", email), ("msisdn", msisdn)):
            if value and self.unique.contact_taken(field, value):
                return {"unique": False, "field": field}
        return {"unique": True}

    def reset(self, caller: Caller, shortname: str) -> dict[str, Any]:
        """Make a user choose a new password at next login (needs `update` on that user)."""
        address = self._address(shortname)
        with self.store.write_lock(address):
            user = self._load(shortname)
            self.access.require(caller, ActionType.update, address, meta=user, number=10)
            self.locking.ensure_unlocked(address, caller)
            if not user.force_password_change:
                updated = user.model_copy(update={"force_password_change": True, "updated_at": now()})
                self.store.tree.save(address, updated)
                changes = {"force_password_change": {"old": False, "new": True}}
                self.store.record_history(address, caller, changes)
        return {"sms_sent": False, "email_sent": False}

    def register(self, record: Record) -> None:
        """Create an account from the registration form, when IS_REGISTRABLE allows it; it gets no role."""
        if not self.store.settings.is_registrable:
            raise DmartError(400, "create", 50, "Register API is disabled")
        attributes = record.attributes
        password = _check_password(attributes.get("password"))
        address = self._address(record.shortname)
        values: dict[str, Any] = {key: attributes[key] for key in SELF_EDITABLE if attributes.get(key) is not None}
        values.update(shortname=record.shortname, owner_shortname=record.shortname, is_active=True)
        try:
            user = User.model_validate(values)
        except ValidationError as error:
            raise _invalid(error) from None
        user.password = self.store.passwords.hash(password)
        with self.store.write_lock(address, *self.unique.lock_keys(address)):
            if self.store.tree.exists(address):
                raise DmartError(400, "request", 415, "The shortname is already taken")
            self.unique.check_contacts(address, user)
            self.store.tree.save(address, user)
        self.store.event(Caller(shortname=record.shortname), address, "create", {"uuid": str(user.uuid)})
        logger.info("registered a user", extra={"user": record.shortname})
