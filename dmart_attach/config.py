"""Every setting of the service, read from the environment and `.env`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings use Dmart's names where Dmart has one; each line says why it exists."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Where the spaces tree lives: the single source of truth.
    spaces_folder: Path = Path("spaces")
    # Folder for the index, sessions, lock files and the generated secret; empty: beside the tree.
    index_path: Path | None = None
    # Secret that signs tokens; empty: generated once and kept in INDEX_PATH.
    jwt_secret: str = ""
    # Token lifetime in seconds (Dmart: 30 days).
    jwt_access_expires: int = 2_592_000
    # Address and port `dmart-attach serve` listens on.
    listening_host: str = "127.0.0.1"
    listening_port: int = 8282
    # Space that holds users, roles, groups, permissions and shared schemas.
    management_space: str = "management"
    # Seconds an entry lock lasts.
    lock_period: int = 300
    # The user that owns everything at bootstrap and may use Dmart's admin-only routes.
    admin_shortname: str = "dmart"
    # Password for the admin when bootstrap creates it; empty: generated and logged once.
    admin_password: str = ""
    # Time zone of the timestamps written into metas (Dmart writes naive local times).
    timezone: str = "UTC"
    # Argon2id cost of new password hashes (Dmart's parameters by default).
    argon2_time_cost: int = 1
    argon2_memory_cost: int = 102_400
    argon2_parallelism: int = 8
    # Origins allowed by CORS; `*` answers any origin, with credentials.
    allowed_cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    # Whether POST /user/create lets anyone open an account (with no role but `logged_in`).
    is_registrable: bool = False
    # Failed logins after which an account is deactivated.
    max_failed_login_attempts: int = 5
    # Largest upload accepted, in bytes.
    max_upload_size: int = 1_073_741_824
    # Largest `limit` a query may ask for; `-1` means this many.
    max_query_limit: int = 10_000
    # Seconds a query's `jq_filter` may run before its process is stopped.
    jq_timeout: float = 2.0
    # Log level of the service's JSON log lines.
    log_level: str = "INFO"
    # Worker processes (per server process) kept ready for data-asset queries; a crashing query harms none else.
    data_asset_workers: int = Field(default=2, ge=1)
    # Seconds a data-asset query may run before it is interrupted.
    data_asset_timeout: float = Field(default=10.0, gt=0)
    # Rows a data-asset query answers at most; a longer result is cut and marked `truncated`.
    data_asset_max_rows: int = Field(default=10_000, ge=1)
    # Bytes of rows a data-asset query answers at most; a larger answer is refused before it is built.
    data_asset_max_bytes: int = Field(default=67_108_864, ge=1024)
    # MiB of memory DuckDB may use for one query.
    data_asset_memory_limit: int = Field(default=512, ge=16)
    # MiB a query worker may allocate (heap and anonymous maps): the backstop against files claiming unbounded memory.
    data_asset_worker_memory: int = Field(default=4096, ge=256)
    # Threads one data-asset query may use.
    data_asset_threads: int = Field(default=2, ge=1)

    @property
    def spaces_root(self) -> Path:
        return self.spaces_folder.resolve()

    @property
    def state_root(self) -> Path:
        if self.index_path is not None:
            return self.index_path.resolve()
        root = self.spaces_root
        return root.parent / f".{root.name}.dmart_attach"


@lru_cache
def get_settings() -> Settings:
    """The settings of this process."""
    return Settings()
