"""Every service of one running process, built from the settings."""

from dataclasses import dataclass

from dmart_attach.clock import set_timezone
from dmart_attach.config import Settings
from dmart_attach.services.access import Access
from dmart_attach.services.alterations import Alterations
from dmart_attach.services.attaching import Attaching
from dmart_attach.services.auth import Auth, load_secret
from dmart_attach.services.data_assets import DataAssets
from dmart_attach.services.entries import Entries
from dmart_attach.services.health import Health
from dmart_attach.services.locking import Locking
from dmart_attach.services.lookups import Lookups
from dmart_attach.services.moving import Moving
from dmart_attach.services.ownership import Ownership
from dmart_attach.services.query import Queries
from dmart_attach.services.reading import Reading
from dmart_attach.services.requests import Requests
from dmart_attach.services.rules import Rules
from dmart_attach.services.schemas import Schemas
from dmart_attach.services.sql_jobs import QueryLimits
from dmart_attach.services.sql_workers import SqlWorkers
from dmart_attach.services.store import Store
from dmart_attach.services.uploads import Uploads
from dmart_attach.services.users import Users
from dmart_attach.services.visibility import Permitted


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    access: Access
    auth: Auth
    users: Users
    entries: Entries
    requests: Requests
    reading: Reading
    locking: Locking
    alterations: Alterations
    uploads: Uploads
    sql_workers: SqlWorkers
    data_assets: DataAssets
    queries: Queries
    lookups: Lookups
    health: Health


def build_services(settings: Settings) -> Services:
    """Wire the storage and services for `settings`."""
    set_timezone(settings.timezone)
    store = Store(settings)
    schemas = Schemas(store.tree, settings.management_space)
    access = Access(store=store)
    locking = Locking(store=store, access=access)
    rules = Rules(store=store, schemas=schemas)
    entries = Entries(store=store, rules=rules, access=access, locking=locking, attaching=Attaching(store=store))
    limits = QueryLimits(
        timeout=settings.data_asset_timeout,
        max_rows=settings.data_asset_max_rows,
        max_bytes=settings.data_asset_max_bytes,
        memory_mib=settings.data_asset_memory_limit,
        threads=settings.data_asset_threads,
    )
    sql_workers = SqlWorkers(
        size=settings.data_asset_workers, worker_memory_mib=settings.data_asset_worker_memory, limits=limits
    )
    queries = Queries(store=store, visibility=Permitted(access), locking=locking)
    return Services(
        settings=settings,
        store=store,
        access=access,
        auth=Auth(store=store, secret=load_secret(settings)),
        users=Users(store=store, access=access, locking=locking),
        entries=entries,
        requests=Requests(
            entries=entries,
            ownership=Ownership(store=store, access=access, locking=locking),
            moving=Moving(store=store, locking=locking, access=access),
        ),
        reading=Reading(store=store, access=access),
        locking=locking,
        alterations=Alterations(store=store, entries=entries),
        uploads=Uploads(store=store, rules=rules, access=access, locking=locking, attaching=Attaching(store=store)),
        sql_workers=sql_workers,
        data_assets=DataAssets(store=store, workers=sql_workers, access=access),
        queries=queries,
        lookups=Lookups(store=store, queries=queries),
        health=Health(store=store, schemas=schemas),
    )
