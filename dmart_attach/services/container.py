"""Every service of one running process, built from the settings."""

from dataclasses import dataclass

from dmart_attach.clock import set_timezone
from dmart_attach.config import Settings
from dmart_attach.services.auth import Auth, load_secret
from dmart_attach.services.entries import Entries
from dmart_attach.services.health import Health
from dmart_attach.services.lookups import Lookups
from dmart_attach.services.query import Queries
from dmart_attach.services.reading import Reading
from dmart_attach.services.requests import Requests
from dmart_attach.services.rules import Rules
from dmart_attach.services.schemas import Schemas
from dmart_attach.services.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    auth: Auth
    entries: Entries
    requests: Requests
    reading: Reading
    queries: Queries
    lookups: Lookups
    health: Health


def build_services(settings: Settings) -> Services:
    """Wire the storage and services for `settings`."""
    set_timezone(settings.timezone)
    store = Store(settings)
    schemas = Schemas(store.tree, settings.management_space)
    entries = Entries(store=store, rules=Rules(store=store, schemas=schemas))
    queries = Queries(store=store)
    return Services(
        settings=settings,
        store=store,
        auth=Auth(store=store, secret=load_secret(settings)),
        entries=entries,
        requests=Requests(entries=entries),
        reading=Reading(store=store),
        queries=queries,
        lookups=Lookups(store=store, queries=queries),
        health=Health(store=store, schemas=schemas),
    )
