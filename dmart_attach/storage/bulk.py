"""Reading every meta of a tree for a rebuild: in batches, by several processes when the tree is large."""

import gc
import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from dmart_attach.models.enums import ResourceType
from dmart_attach.storage.index_schema import BATCH, row_terms, row_values
from dmart_attach.storage.layout import Address, Layout
from dmart_attach.storage.scan import Row, read_row

logger = logging.getLogger(__name__)

# A rebuild reads this many metas or more with worker processes, whose start-up it then repays.
PARALLEL_FROM = 20_000
_MOST_WORKERS = 4

# One location to read: space, subpath, shortname, resource type and the meta file's path.
Located = tuple[str, str, str, str, str]
# The rows of a batch (each with its id first) and their terms.
Batch = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def read_batch(root: str, located: list[Located], first_id: int) -> Batch:
    """Read a batch of metas; the row of `located[n]` gets id `first_id + n` (unreadable ones leave gaps)."""
    layout = Layout(Path(root))
    rows: list[tuple[Any, ...]] = []
    terms: list[tuple[Any, ...]] = []
    for number, (space, subpath, shortname, resource_type, path) in enumerate(located, start=first_id):
        row = read_row(layout, Address(space, subpath, shortname, ResourceType(resource_type)), path)
        if isinstance(row, Row):
            rows.append((number, *row_values(row)))
            terms.extend(row_terms(number, row))
    return rows, terms


def _workers() -> int:
    """How many processes may read at once: one a core, and only from a process running one thread.

    Workers are forked, which copies only the calling thread; a command or a start-up rebuilds before
    any other thread runs, while a rebuild inside a running service reads alone.
    """
    if threading.active_count() > 1:
        return 1
    return max(1, min(_MOST_WORKERS, len(os.sched_getaffinity(0))))


def read_batches(layout: Layout, found: Iterable[tuple[Address, str]], first_id: int) -> Iterator[Batch]:
    """The rows and terms of every location found, in batches, in the order found.

    Until `PARALLEL_FROM` locations are found they are only listed; past that, batches are read by
    worker processes while the tree is still being listed, and answered in order as they complete.
    Should a worker die, its batches and the rest are read here.
    """
    root = os.fspath(layout.root)
    waiting: list[Located] = []
    next_id = first_id
    workers = _workers()
    pool: ProcessPoolExecutor | None = None
    # Each batch handed out, with what it reads; without a future once the workers are gone.
    running: deque[tuple[Future[Batch] | None, list[Located], int]] = deque()

    def submit(located: list[Located], first: int) -> None:
        future = None
        if pool is not None:
            try:
                future = pool.submit(read_batch, root, located, first)
            except BrokenProcessPool:
                future = None
        running.append((future, located, first))

    def oldest() -> Batch:
        future, located, first = running.popleft()
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                logger.warning("a worker reading the tree died; this process reads its batches")
        return read_batch(root, located, first)

    try:
        for address, path in found:
            waiting.append((address.space_name, address.subpath, address.shortname, address.resource_type.value, path))
            if pool is None and len(waiting) >= PARALLEL_FROM and workers > 1:
                # A worker's objects hold no cycles: its collector would only walk the heap it was forked with.
                context = multiprocessing.get_context("fork")
                pool = ProcessPoolExecutor(workers, mp_context=context, initializer=gc.disable)
            if pool is not None:
                while len(waiting) >= BATCH:
                    submit(waiting[:BATCH], next_id)
                    del waiting[:BATCH]
                    next_id += BATCH
                # Keep a few batches ahead of the caller, not the whole tree in memory.
                while len(running) > 2 * workers:
                    yield oldest()
        if pool is not None and waiting:
            submit(waiting, next_id)
            waiting = []
        while running:
            yield oldest()
        for start in range(0, len(waiting), BATCH):
            yield read_batch(root, waiting[start : start + BATCH], next_id + start)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
