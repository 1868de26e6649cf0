"""State shared by every worker process: ended sessions, in a small SQLite database."""

import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ended_tokens (token_id TEXT PRIMARY KEY, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS user_epochs (shortname TEXT PRIMARY KEY, not_before REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failed_logins (shortname TEXT PRIMARY KEY, attempts INTEGER NOT NULL);
"""


class SessionStore:
    """Which tokens were ended by logout, and since when each user's older tokens are void."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def end_token(self, token_id: str, expires: float) -> None:
        """End one token everywhere."""
        connection = self._connect()
        connection.execute("INSERT OR REPLACE INTO ended_tokens VALUES (?, ?)", (token_id, expires))
        connection.execute("DELETE FROM ended_tokens WHERE expires < ?", (time.time(),))

    def end_user_sessions(self, shortname: str) -> None:
        """End every token the user holds now."""
        self._connect().execute("INSERT OR REPLACE INTO user_epochs VALUES (?, ?)", (shortname, time.time()))

    def is_valid(self, token_id: str, shortname: str, issued_at: float) -> bool:
        """Whether a token is neither ended nor older than its user's last session reset."""
        connection = self._connect()
        if connection.execute("SELECT 1 FROM ended_tokens WHERE token_id = ?", (token_id,)).fetchone():
            return False
        row = connection.execute("SELECT not_before FROM user_epochs WHERE shortname = ?", (shortname,)).fetchone()
        return row is None or issued_at > row[0]

    def count_failed_login(self, shortname: str) -> int:
        """Count one more failed login of the user; answer how many in a row."""
        row = (
            self._connect()
            .execute(
                "INSERT INTO failed_logins VALUES (?, 1) ON CONFLICT(shortname) DO UPDATE SET attempts = attempts + 1 "
                "RETURNING attempts",
                (shortname,),
            )
            .fetchone()
        )
        return int(row[0])

    def clear_failed_logins(self, shortname: str) -> None:
        self._connect().execute("DELETE FROM failed_logins WHERE shortname = ?", (shortname,))
