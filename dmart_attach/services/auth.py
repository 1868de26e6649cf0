"""Logging in and out, and turning a token back into a caller (contract §4)."""

import fcntl
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from dmart_attach.clock import now
from dmart_attach.config import Settings
from dmart_attach.errors import DmartError
from dmart_attach.models.api import LoginRequest
from dmart_attach.models.core import User
from dmart_attach.models.enums import ResourceType
from dmart_attach.services.caller import Caller
from dmart_attach.services.store import Store
from dmart_attach.storage.atomic import write_bytes
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
USERS_FOLDER = "users"
# Tokens whose signature was verified, with their claims: a client sends the same token on every request.
_MAX_VERIFIED = 4096


class UnsafeSettings(RuntimeError):
    """Settings the service refuses to start with: a short JWT_SECRET, a secret kept inside the tree."""


def load_secret(settings: Settings) -> str:
    """The signing secret: JWT_SECRET, or one generated once and kept beside the tree."""
    if settings.state_root.is_relative_to(settings.spaces_root):
        raise UnsafeSettings("INDEX_PATH must be outside SPACES_FOLDER: it keeps the generated secret and sessions")
    if settings.jwt_secret:
        if len(settings.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise UnsafeSettings(
                f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long; leave it empty to have one generated"
            )
        return settings.jwt_secret
    path: Path = settings.state_root / "jwt_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as guard:
        # Several workers may start at once: the first one writes the secret, the others read it.
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not path.is_file():
            write_bytes(path, secrets.token_urlsafe(48).encode(), mode=0o600)
    return path.read_text().strip()


def _unauthenticated(code: int, message: str) -> DmartError:
    return DmartError(401, "jwtauth", code, message)


INVALID_LOGIN = DmartError(401, "auth", 10, "Invalid username or password")


@dataclass(frozen=True)
class Session:
    """The verified claims of a token."""

    shortname: str
    token_id: str
    expires: float


class Auth:
    """Passwords in, tokens out; tokens in, users out."""

    def __init__(self, *, store: Store, secret: str) -> None:
        self.store = store
        self.settings = store.settings
        self.secret = secret
        self._verified: dict[str, dict[str, Any]] = {}

    def user_address(self, shortname: str) -> Address:
        return self.store.address(self.settings.management_space, USERS_FOLDER, shortname, ResourceType.user)

    def load_user(self, shortname: str) -> User | None:
        meta = self.store.tree.load(self.user_address(shortname))
        return meta if isinstance(meta, User) else None

    def issue(self, user: User) -> str:
        issued = time.time()
        claims: dict[str, Any] = {
            "data": {"shortname": user.shortname, "type": user.type.value},
            "expires": issued + self.settings.jwt_access_expires,
            "iat": issued,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def login(self, request: LoginRequest, headers: dict[str, str]) -> tuple[User, str]:
        """Check the password and answer a token; every failure is the same 401/10."""
        if not request.shortname or not request.password:
            raise INVALID_LOGIN
        user = self.load_user(request.shortname)
        if not self.store.passwords.verify(user.password if user else None, request.password):
            if user is not None and user.is_active:
                self._count_failure(user.shortname)
            raise INVALID_LOGIN
        assert user is not None
        if not user.is_active:
            raise INVALID_LOGIN
        self.store.sessions.clear_failed_logins(user.shortname)
        address = self.user_address(user.shortname)
        with self.store.write_lock(address):
            current = self.load_user(user.shortname) or user
            current.last_login = {"timestamp": int(time.time()), "headers": headers}
            self.store.tree.save(address, current)
        return user, self.issue(user)

    def _count_failure(self, shortname: str) -> None:
        """Count a wrong password; at MAX_FAILED_LOGIN_ATTEMPTS in a row the account is deactivated."""
        attempts = self.store.sessions.count_failed_login(shortname)
        if attempts < self.settings.max_failed_login_attempts:
            return
        address = self.user_address(shortname)
        with self.store.write_lock(address):
            user = self.load_user(shortname)
            if user is None or not user.is_active:
                return
            updated = user.model_copy(update={"is_active": False, "updated_at": now()})
            self.store.tree.save(address, updated)
            changes = {"is_active": {"old": True, "new": False}}
            self.store.record_history(address, Caller(shortname=shortname), changes)
        # A reactivated account starts counting again from zero.
        self.store.sessions.clear_failed_logins(shortname)
        self.store.sessions.end_user_sessions(shortname)
        logger.warning("deactivated after failed logins", extra={"user": shortname, "attempts": attempts})

    def session(self, token: str | None) -> Session:
        """The session a token stands for, or Dmart's 401."""
        if not token:
            raise _unauthenticated(49, "Not authenticated [1]")
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"verify_exp": False})
            except jwt.PyJWTError:
                raise _unauthenticated(47, "Invalid Token [1]") from None
            if len(self._verified) >= _MAX_VERIFIED:
                self._verified.clear()
            self._verified[token] = claims
        data, expires = claims.get("data"), claims.get("expires")
        if not isinstance(data, dict) or not isinstance(expires, (int, float)):
            raise _unauthenticated(47, "Invalid Token [2]")
        shortname = data.get("shortname")
        if not isinstance(shortname, str):
            raise _unauthenticated(47, "Invalid Token [3]")
        if expires <= time.time():
            raise _unauthenticated(48, "Expired Token")
        token_id = str(claims.get("jti", token[-32:]))
        issued = float(claims.get("iat", expires - self.settings.jwt_access_expires))
        if not self.store.sessions.is_valid(token_id, shortname, issued):
            raise _unauthenticated(49, "Not authenticated [3]")
        return Session(shortname=shortname, token_id=token_id, expires=float(expires))

    def logout(self, session: Session) -> None:
        self.store.sessions.end_token(session.token_id, session.expires)

    def set_password(self, shortname: str, password: str) -> None:
        """Set a user's password and activate it (the `set-password` command), ending its sessions."""
        address = self.user_address(shortname)
        with self.store.write_lock(address):
            user = self.load_user(shortname)
            if user is None:
                raise LookupError(f"no user {shortname} in {self.settings.management_space}/{USERS_FOLDER}")
            user.password = self.store.passwords.hash(password)
            # Setting a password is also how an account deactivated by failed logins is given back.
            user.is_active = True
            user.updated_at = now()
            self.store.tree.save(address, user)
        self.store.sessions.end_user_sessions(shortname)
        self.store.sessions.clear_failed_logins(shortname)
