"""The index: kept in step with every write, refused or not, repaired after a kill, rebuilt from the tree."""

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from dmart_attach.cli import main
from dmart_attach.config import Settings
from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT
from dmart_attach.models.api import Record
from dmart_attach.models.enums import ResourceType
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.caller import Caller
from dmart_attach.services.container import Services, build_services
from dmart_attach.storage import bulk
from dmart_attach.storage.index import Index
from dmart_attach.storage.layout import Address
from tests.utils.factories import json_payload, record

ADMIN = Caller("dmart")


def started(settings: Settings) -> Services:
    services = build_services(settings)
    bootstrap(services.store)
    return services


def create(services: Services, space: str, **fields: object) -> None:
    services.entries.create(space, Record.model_validate(fields), ADMIN)


def fresh_rebuild(services: Services, tmp_path: Path) -> dict[tuple[str, str, str, str], tuple[str, str | None]]:
    """What an index built from nothing out of the same tree holds; its full text and kept values must agree too."""
    folder = tmp_path / "fresh"
    other = Index(folder / f"{len(list(folder.glob('*.sqlite')))}.sqlite", services.store.tree.layout)
    other.rebuild()
    assert services.store.index.derived() == other.derived()
    assert services.store.index.tallies() == other.tallies()
    return other.snapshot()


def fill(services: Services) -> None:
    create(services, "blog", **record("space", ROOT, "blog", is_active=True))
    create(services, "blog", **record("folder", ROOT, "posts", is_active=True))
    create(services, "blog", **record("folder", "posts", "old", is_active=True))
    create(services, "blog", **record("content", "posts", "a", is_active=True, payload=json_payload({"x": 1})))
    create(services, "blog", **record("content", "posts/old", "b", is_active=True, tags=["t"]))
    create(services, "blog", **record("comment", "posts/a", "c", is_active=True, body="hi"))


def test_index_equals_a_fresh_rebuild_after_writes_and_refusals(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    with pytest.raises(DmartError):
        create(services, "blog", **record("content", "posts", "a", is_active=True))
    with pytest.raises(DmartError):
        create(services, "blog", **record("content", "missing", "z", is_active=True))
    services.entries.update(
        "blog",
        Record.model_validate(record("content", "posts", "a", payload=json_payload({"x": 2}))),
        ADMIN,
        patch=False,
    )
    services.entries.delete("blog", Record.model_validate(record("folder", "posts", "old")), ADMIN)

    snapshot = services.store.index.snapshot()
    assert snapshot == fresh_rebuild(services, tmp_path)
    assert ("blog", "posts", "a", "content") in snapshot
    assert snapshot[("blog", "posts", "a", "content")][1] == '{"x":2}'
    assert not [key for key in snapshot if key[1].startswith("posts/old") or key[2] == "old"]


def test_a_folder_moved_on_disk_is_indexed_where_it_lands(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    tree = services.store.tree
    old = Address("blog", "posts", "old", ResourceType.folder)
    meta = tree.load(old)
    assert meta is not None
    layout = tree.layout
    shutil.copytree(layout.folder_path("blog", "posts/old"), layout.folder_path("blog", "old"))
    tree.save(Address("blog", ROOT, "old", ResourceType.folder), meta)
    tree.remove(old, meta)

    snapshot = services.store.index.snapshot()
    assert snapshot == fresh_rebuild(services, tmp_path)
    assert ("blog", "old", "b", "content") in snapshot


_KILLED_WRITE = """
import os, sys
from dmart_attach.config import Settings
from dmart_attach.models.api import Record
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.caller import Caller
from dmart_attach.services.container import build_services
from dmart_attach.storage.index import Index

settings = Settings(_env_file=None, spaces_folder=sys.argv[1], index_path=sys.argv[2], admin_password="x" * 12,
                    argon2_memory_cost=1024, argon2_parallelism=1)
services = build_services(settings)
bootstrap(services.store)
Index.end_write = lambda self, pending, address: os._exit(9)
record = {"resource_type": "content", "subpath": "posts", "shortname": "late", "attributes": {"is_active": True}}
services.entries.create("blog", Record.model_validate(record), Caller("dmart"))
"""


def test_a_write_killed_before_its_index_update_is_repaired_at_start(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    services.store.index.close()

    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITE, str(settings.spaces_root), str(settings.state_root)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == 9, killed.stderr.decode()
    assert (settings.spaces_root / "blog" / "posts" / ".dm" / "late" / "meta.content.json").is_file()

    again = build_services(settings)
    assert ("blog", "posts", "late", "content") not in again.store.index.snapshot()
    assert again.store.index.prepare() == "repaired 1"
    assert again.store.index.snapshot() == fresh_rebuild(again, tmp_path)
    assert ("blog", "posts", "late", "content") in again.store.index.snapshot()


def test_an_index_of_another_tree_is_rebuilt_at_start(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    moved = tmp_path / "elsewhere"
    shutil.copytree(settings.spaces_root, moved)
    other = settings.model_copy(update={"spaces_folder": moved})

    again = build_services(other)
    assert again.store.index.prepare() == "rebuilt"
    assert again.store.index.prepare() == "current"
    assert again.store.index.snapshot() == fresh_rebuild(again, tmp_path)


def test_reindex_command_rebuilds_one_space(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    services = started(settings)
    fill(services)
    services.store.index.connection().execute("DELETE FROM rows WHERE space_name = 'blog'")
    monkeypatch.setattr("dmart_attach.cli.get_settings", lambda: settings)

    assert main(["reindex", "blog"]) == 0

    assert "reindex: 7 records indexed" in capsys.readouterr().out
    assert ("blog", "posts/a", "c", "comment") in services.store.index.snapshot()
    assert main(["reindex", "nowhere"]) == 1


def test_the_process_id_of_a_live_writer_is_left_alone(settings: Settings) -> None:
    services = started(settings)
    index = services.store.index
    index.begin_write(Address("management", ROOT, "users", ResourceType.folder))

    assert index.repair() == 0
    assert os.getpid() == index.connection().execute("SELECT pid FROM pending").fetchone()[0]


def test_any_sequence_of_writes_leaves_the_index_equal_to_a_rebuild(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    chance = random.Random(4)
    folders = ["posts", "posts/old"]
    outcomes = {"done": 0, "refused": 0}
    for step in range(60):
        folder = chance.choice(folders)
        name = f"n{chance.randrange(12)}"
        action = chance.choice(["entry", "folder", "comment", "update", "delete", "delete_folder"])
        try:
            if action == "entry":
                create(services, "blog", **record("content", folder, name, payload=json_payload({"step": step})))
            elif action == "folder" and len(folders) < 6:
                create(services, "blog", **record("folder", folder, name))
                folders.append(f"{folder}/{name}")
            elif action == "comment":
                create(services, "blog", **record("comment", f"{folder}/{name}", f"c{step}", body="text"))
            elif action == "update":
                change = record("content", folder, name, tags=[str(step)], payload=json_payload({"step": step}))
                services.entries.update("blog", Record.model_validate(change), ADMIN, patch=True)
            elif action == "delete":
                services.entries.delete("blog", Record.model_validate(record("content", folder, name)), ADMIN)
            elif action == "delete_folder" and folder != "posts":
                parent, _, last = folder.rpartition("/")
                services.entries.delete("blog", Record.model_validate(record("folder", parent, last)), ADMIN)
                folders = [kept for kept in folders if kept != folder and not kept.startswith(f"{folder}/")]
            outcomes["done"] += 1
        except DmartError:
            outcomes["refused"] += 1

    assert outcomes["done"] >= 20 and outcomes["refused"] >= 10, outcomes
    assert services.store.index.snapshot() == fresh_rebuild(services, tmp_path)


def test_sync_reads_an_entry_moved_on_disk_with_its_attachments(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    layout = services.store.tree.layout
    source = layout.entry_dir("blog", "posts", "a")
    target = layout.entry_dir("blog", "posts/old", "a")
    source.rename(target)
    (layout.folder_path("blog", "posts") / "a.json").rename(layout.folder_path("blog", "posts/old") / "a.json")

    for moved in (
        Address("blog", "posts", "a", ResourceType.content),
        Address("blog", "posts/old", "a", ResourceType.content),
    ):
        services.store.index.sync(moved)

    snapshot = services.store.index.snapshot()
    assert snapshot == fresh_rebuild(services, tmp_path)
    assert ("blog", "posts/old/a", "c", "comment") in snapshot
    assert ("blog", "posts/a", "c", "comment") not in snapshot


def test_reindexing_one_space_of_an_index_of_another_version_reads_everything(settings: Settings) -> None:
    services = started(settings)
    fill(services)
    index = services.store.index
    index.connection().execute("UPDATE marker SET value = 'old' WHERE key = 'version'")
    index.connection().execute("DELETE FROM rows WHERE space_name = 'management'")

    index.rebuild("blog")

    assert ("management", "users", "dmart", "user") in index.snapshot()
    assert index.prepare() == "current"


def test_a_json_body_nested_past_the_encoder_limit_is_indexed_without_its_body(settings: Settings) -> None:
    services = started(settings)
    fill(services)
    payload_file = settings.spaces_root / "blog" / "posts" / "a.json"
    payload_file.write_text('{"x": ' + "[" * 300 + "]" * 300 + "}")

    services.store.index.rebuild()

    meta, body = services.store.index.snapshot()[("blog", "posts", "a", "content")]
    assert '"body":"a.json"' in meta
    assert body is None


def test_a_pending_write_whose_pid_now_names_another_process_is_interrupted(settings: Settings) -> None:
    """After a crash and a restart (a container's, say), a new process may get the dead writer's pid."""
    services = started(settings)
    index = services.store.index
    address = Address("management", ROOT, "users", ResourceType.folder)
    index.begin_write(address)
    index.begin_write(address)
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with index.transaction() as connection:
            [first, second] = [row_id for (row_id,) in connection.execute("SELECT id FROM pending ORDER BY id")]
            # The dead writer's token carries its own start, which is not that of the process now holding its pid.
            connection.execute("UPDATE pending SET pid = ?, token = 'dead.0:0' WHERE id = ?", (other.pid, first))
            # A token without a start (as older versions wrote) falls back to whether the pid is alive.
            connection.execute("UPDATE pending SET pid = ?, token = 'dead' WHERE id = ?", (other.pid, second))

        assert index.interrupted() == [address]
        assert index.repair() == 1
        assert index.connection().execute("SELECT id FROM pending").fetchall() == [(second,)]
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=60)


def test_reindexing_the_space_that_holds_most_rows_reads_everything_and_keeps_writes_in_flight(
    settings: Settings, tmp_path: Path
) -> None:
    services = started(settings)
    fill(services)
    index = services.store.index
    (others,) = index.connection().execute("SELECT count(*) FROM rows WHERE space_name != 'blog'").fetchone()
    for number in range(others):
        create(services, "blog", **record("content", "posts", f"n{number}", is_active=True, tags=["bulk"]))
    index.connection().execute("DELETE FROM rows WHERE space_name = 'management' AND shortname = 'dmart'")
    in_flight = Address("management", ROOT, "users", ResourceType.folder)
    index.begin_write(in_flight)

    assert index.rebuild("blog") == 7 + others

    assert ("management", "users", "dmart", "user") in index.snapshot()
    assert index.interrupted() == [] and index.connection().execute("SELECT count(*) FROM pending").fetchone() == (1,)
    assert index.snapshot() == fresh_rebuild(services, tmp_path)
    assert index.prepare() == "current"


def test_an_index_file_of_an_older_shape_is_replaced_at_start(settings: Settings, tmp_path: Path) -> None:
    services = started(settings)
    fill(services)
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as connection:
        connection.executescript(
            "CREATE TABLE marker (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO marker VALUES ('version', '5');"
            "CREATE TABLE terms (row_id INTEGER, space_name TEXT, subpath TEXT, path TEXT, value);"
            "CREATE TABLE anchors (space_name TEXT, subpath TEXT, position INTEGER);"
        )
    connection.close()
    index = Index(old, services.store.tree.layout)

    assert index.prepare() == "rebuilt"

    assert index.snapshot() == services.store.index.snapshot()
    assert index.tallies() == services.store.index.tallies()


def read_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilds of a few rows read them with two worker processes, four rows a batch."""
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 5)
    monkeypatch.setattr(bulk, "BATCH", 4)
    monkeypatch.setattr(bulk, "_workers", lambda: 2)


def test_a_large_tree_is_read_by_worker_processes_into_the_same_rows(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = started(settings)
    fill(services)
    for number in range(30):
        create(services, "blog", **record("content", "posts", f"n{number}", is_active=True, tags=[f"t{number % 3}"]))
    broken = settings.spaces_root / "blog" / "posts" / ".dm" / "n7" / "meta.content.json"
    broken.write_text("{")
    kept = Index(tmp_path / "serial.sqlite", services.store.tree.layout)
    serial_rows = kept.rebuild()
    read_in_workers(monkeypatch)
    parallel = Index(tmp_path / "parallel.sqlite", services.store.tree.layout)
    forked: list[int] = []
    real_pool = bulk.ProcessPoolExecutor

    def counted_pool(workers: int, **options: Any) -> Any:
        forked.append(workers)
        return real_pool(workers, **options)

    monkeypatch.setattr(bulk, "ProcessPoolExecutor", counted_pool)

    assert parallel.rebuild() == serial_rows

    assert forked == [2]
    assert parallel.snapshot() == kept.snapshot()
    assert ("blog", "posts", "n7", "content") not in parallel.snapshot()
    assert parallel.derived() == kept.derived()
    assert parallel.tallies() == kept.tallies()


_PARENT = 0
_READ_BATCH = bulk.read_batch


def _dying_in_a_worker(root: str, located: list[bulk.Located], first_id: int) -> bulk.Batch:
    """Reads a batch in the test's process; a worker process dies instead."""
    if os.getpid() != _PARENT:
        os._exit(1)
    return _READ_BATCH(root, located, first_id)


def test_a_rebuild_whose_reading_worker_dies_reads_on_by_itself(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = started(settings)
    fill(services)
    for number in range(12):
        create(services, "blog", **record("content", "posts", f"n{number}", is_active=True))
    kept = Index(tmp_path / "serial.sqlite", services.store.tree.layout)
    serial_rows = kept.rebuild()
    monkeypatch.setattr(sys.modules[__name__], "_PARENT", os.getpid())
    read_in_workers(monkeypatch)
    monkeypatch.setattr(bulk, "read_batch", _dying_in_a_worker)
    parallel = Index(tmp_path / "parallel.sqlite", services.store.tree.layout)

    assert parallel.rebuild() == serial_rows

    assert parallel.snapshot() == kept.snapshot()
    assert parallel.tallies() == kept.tallies()


def test_reindexing_a_space_copied_into_the_tree_reads_everything_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = started(settings)
    fill(services)
    index = services.store.index
    (known,) = index.connection().execute("SELECT count(*) FROM rows").fetchone()
    folder = settings.spaces_root / "blog" / "imported"
    shutil.copytree(settings.spaces_root / "blog" / "posts", folder)
    folder_meta = folder / ".dm" / "meta.folder.json"
    folder_meta.write_text(folder_meta.read_text().replace('"shortname":"posts"', '"shortname":"imported"'))
    for number in range(known):
        shutil.copytree(folder / ".dm" / "a", folder / ".dm" / f"i{number}")
        meta = folder / ".dm" / f"i{number}" / "meta.content.json"
        meta.write_text(meta.read_text().replace('"shortname":"a"', f'"shortname":"i{number}"'))
    refills: list[list[str]] = []
    real_refill = index._refill

    def counted(transaction: sqlite3.Connection, scanned: dict[str, Iterable[tuple[Address, str]]]) -> None:
        refills.append(sorted(scanned))
        real_refill(transaction, scanned)

    monkeypatch.setattr(index, "_refill", counted)

    rows = index.rebuild("blog")

    assert refills == [["blog"]]
    assert ("blog", "imported", f"i{known - 1}", "content") in index.snapshot()
    # The folder, its old/b and a with its comment, and each copy of a with its comment.
    assert rows == 7 + 5 + 2 * known
    assert index.snapshot() == fresh_rebuild(services, tmp_path)
