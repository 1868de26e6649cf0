"""Every service of one running process, built from the settings."""

from dataclasses import dataclass

from dmart_attach.clock import set_timezone
from dmart_attach.config import Settings
from dmart_attach.services.auth import Auth, load_secret
from dmart_attach.services.data_assets import DataAssets
from dmart_attach.services.entries import Entries
from dmart_attach.services.reading import Reading
from dmart_attach.services.requests import Requests
from dmart_attach.services.rules import Rules
from dmart_attach.services.schemas import Schemas
from dmart_attach.services.sql_jobs import QueryLimits
from dmart_attach.services.sql_workers import SqlWorkers
from dmart_attach.services.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    auth: Auth
    entries: Entries
    requests: Requests
    reading: Reading
    sql_workers: SqlWorkers
    data_assets: DataAssets


def build_services(settings: Settings) -> Services:
    """Wire the storage and services for `settings`."""
    set_timezone(settings.timezone)
    store = Store(settings)
    schemas = Schemas(store.tree, settings.management_space)
    entries = Entries(store=store, rules=Rules(store=store, schemas=schemas))
    limits = QueryLimits(
        timeout=settings.data_asset_timeout,
        max_rows=settings.data_asset_max_rows,
        memory_mib=settings.data_asset_memory_limit,
        threads=settings.data_asset_threads,
    )
    sql_workers = SqlWorkers(
        size=settings.data_asset_workers, worker_memory_mib=settings.data_asset_worker_memory, limits=limits
    )
    return Services(
        settings=settings,
        store=store,
        auth=Auth(store=store, secret=load_secret(settings)),
        entries=entries,
        requests=Requests(entries=entries),
        reading=Reading(store=store),
        sql_workers=sql_workers,
        data_assets=DataAssets(store=store, workers=sql_workers),
    )
