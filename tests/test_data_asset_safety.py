"""Untrusted SQL over data assets: it reads nothing but the assets, writes nothing, and stays in its limits."""

import time
from pathlib import Path
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.conftest import make_settings
from tests.utils.data_assets import attach_data_asset, csv_bytes, duckdb_made, query_body, sqlite_bytes
from tests.utils.factories import Api, record

TIMEOUT = 0.5
MAX_ROWS = 5
MAX_BYTES = 10_000
TOO_LARGE = (
    f"The answer would be larger than {MAX_BYTES} bytes, the most a data-asset query may answer; "
    "select fewer rows or columns, or shorter values"
)


@pytest.fixture
def settings(empty_spaces: Path) -> Settings:
    return make_settings(
        empty_spaces,
        data_asset_timeout=TIMEOUT,
        data_asset_max_rows=MAX_ROWS,
        data_asset_max_bytes=MAX_BYTES,
        data_asset_memory_limit=64,
        data_asset_workers=1,
    )


@pytest.fixture
def spaces(admin: Api, settings: Settings, tmp_path: Path) -> Path:
    """The `sales` entry of B19 with its `rows` csv, a sqlite `ledger` and a duckdb `vault`."""
    admin.space("demo", "reports")
    admin.create("demo", record("content", "reports", "sales", is_active=True))
    root = settings.spaces_root
    assets = {
        "rows": ("csv", csv_bytes("region,total", "north,10")),
        "ledger": ("sqlite", sqlite_bytes(tmp_path, "CREATE TABLE t (x INTEGER)", "INSERT INTO t VALUES (1), (2)")),
        "vault": (
            "duckdb",
            duckdb_made(
                tmp_path,
                "duckdb",
                "CREATE TABLE t AS SELECT 1 AS x",
                "CREATE VIEW secrets AS SELECT * FROM read_csv('/etc/passwd')",
            ),
        ),
    }
    for shortname, (kind, content) in assets.items():
        attach_data_asset(
            root, space_name="demo", subpath="reports", parent="sales", shortname=shortname, kind=kind, content=content
        )
    return root


def ask(admin: Api, query: str, *, kind: str = "csv", asset: str = "rows") -> Any:
    body = query_body("demo", "reports", "sales", kind, query, assets=[asset])
    return admin.client.post("/managed/data-asset", json=body, headers=admin.headers)


def assert_refused(response: Any, *, code: int = 402) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert (body["error"]["type"], body["error"]["code"]) == ("data_asset", code)
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", 'Permission Error: Cannot access file "/etc/passwd"'),
        ("SELECT content FROM read_text('/etc/hostname')", 'Permission Error: Cannot access file "/etc/hostname"'),
        ("SELECT * FROM glob('/etc/*')", 'Permission Error: Cannot access file "/etc/*"'),
        ("SELECT * FROM read_csv('../../../../../../../etc/passwd')", "Permission Error: Cannot access file"),
        ("SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')", "Permission Error: Cannot access file"),
        ("ATTACH '/tmp/other.duckdb' AS other", "Only SELECT queries are run on data assets; this statement is ATTACH"),
        ("INSTALL sqlite", "Only SELECT queries are run on data assets; this statement is LOAD"),
        ("LOAD sqlite", "Only SELECT queries are run on data assets; this statement is LOAD"),
        ("SET threads = 64", "Only SELECT queries are run on data assets; this statement is SET"),
        ("RESET memory_limit", "Only SELECT queries are run on data assets; this statement is SET"),
        ("CREATE TABLE t AS SELECT 1", "Only SELECT queries are run on data assets; this statement is CREATE"),
        ("SELECT 1; SELECT 2", "A query is exactly one statement; this one has 2"),
    ],
)
def test_csv_queries_cannot_reach_past_the_asset(admin: Api, spaces: Path, query: str, message: str) -> None:
    assert assert_refused(ask(admin, query)).startswith(message)

    assert ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"] == [{"n": 1}]


def test_copy_to_writes_nothing(admin: Api, spaces: Path, tmp_path: Path) -> None:
    target = tmp_path / "stolen.csv"

    message = assert_refused(ask(admin, f"COPY (SELECT * FROM file) TO '{target}'"))

    assert message == "Only SELECT queries are run on data assets; this statement is COPY"
    assert not target.exists()


def test_the_safety_settings_are_in_force_inside_a_query(admin: Api, spaces: Path) -> None:
    answer = ask(admin, "SELECT current_setting('enable_external_access') AS external, current_setting('threads') AS t")

    assert answer.json()["attributes"]["rows"] == [{"external": False, "t": 2}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ATTACH DATABASE '/tmp/other.sqlite' AS other", "not authorized"),
        ("INSERT INTO t VALUES (3)", "not authorized"),
        ("PRAGMA writable_schema = 1", "not authorized"),
        ("SELECT load_extension('/tmp/evil')", "not authorized to use function: load_extension"),
        ("SELECT 1; SELECT 2", "You can only execute one statement at a time."),
    ],
)
def test_sqlite_queries_are_read_only_and_local(admin: Api, spaces: Path, query: str, message: str) -> None:
    assert assert_refused(ask(admin, query, kind="sqlite", asset="ledger")) == message

    assert ask(admin, "SELECT sum(x) AS total FROM t", kind="sqlite", asset="ledger").json()["attributes"]["rows"] == [
        {"total": 3}
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM secrets", 'Permission Error: Cannot access file "/etc/passwd"'),
        ("INSERT INTO t VALUES (2)", "Only SELECT queries are run on data assets; this statement is INSERT"),
    ],
)
def test_duckdb_databases_are_read_only_and_local(admin: Api, spaces: Path, query: str, message: str) -> None:
    assert assert_refused(ask(admin, query, kind="duckdb", asset="vault")).startswith(message)


@pytest.mark.parametrize(
    ("kind", "asset", "query"),
    [
        ("csv", "rows", "SELECT count(*) FROM file, range(1000000000000)"),
        ("sqlite", "ledger", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"),
    ],
)
def test_a_query_past_the_time_limit_is_interrupted(
    admin: Api, spaces: Path, kind: str, asset: str, query: str
) -> None:
    started = time.monotonic()

    message = assert_refused(ask(admin, query, kind=kind, asset=asset), code=504)

    assert message == f"The query ran past the time limit of {TIMEOUT:g} s and was stopped"
    assert time.monotonic() - started < TIMEOUT + 2
    assert ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"] == [{"n": 1}]


@pytest.mark.parametrize(
    ("kind", "asset", "query"),
    [
        ("csv", "rows", "SELECT range AS x FROM range({n})"),
        (
            "sqlite",
            "ledger",
            "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c LIMIT {n}) SELECT x FROM c",
        ),
    ],
)
def test_rows_past_the_cap_are_cut_and_marked_truncated(
    admin: Api, spaces: Path, kind: str, asset: str, query: str
) -> None:
    over = ask(admin, query.format(n=MAX_ROWS + 1), kind=kind, asset=asset).json()["attributes"]
    exact = ask(admin, query.format(n=MAX_ROWS), kind=kind, asset=asset).json()["attributes"]

    assert (over["returned"], over["truncated"], over["rows"]) == (MAX_ROWS, True, [{"x": n} for n in range(MAX_ROWS)])
    assert (exact["returned"], exact["truncated"]) == (MAX_ROWS, False)


@pytest.mark.parametrize(
    ("kind", "asset", "query"),
    [
        ("csv", "rows", "SELECT repeat('x', 20000) AS x"),
        ("csv", "rows", "SELECT repeat('x', 3000) AS x FROM range(4)"),
        ("csv", "rows", "SELECT list_transform(range(30), lambda i: repeat('x', 100)) AS x FROM range(4)"),
        ("sqlite", "ledger", "SELECT randomblob(8000) AS x"),
        ("sqlite", "ledger", "SELECT x, zeroblob(3000) AS padding FROM t, (SELECT 1 UNION SELECT 2)"),
    ],
)
def test_an_answer_past_the_byte_cap_answers_400(admin: Api, spaces: Path, kind: str, asset: str, query: str) -> None:
    assert assert_refused(ask(admin, query, kind=kind, asset=asset)) == TOO_LARGE

    assert ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"] == [{"n": 1}]


def test_an_answer_just_under_the_byte_cap_is_answered_whole(admin: Api, spaces: Path) -> None:
    # Four rows of {"x":"..."} and the list's brackets and commas: 4 * (8 + 2400) + 5 bytes.
    answer = ask(admin, "SELECT repeat('x', 2400) AS x FROM range(4)").json()["attributes"]
    wider = ask(admin, "SELECT repeat('x', 2500) AS x FROM range(4)")

    assert (answer["returned"], answer["truncated"], answer["rows"][3]) == (4, False, {"x": "x" * 2400})
    assert assert_refused(wider) == TOO_LARGE


@pytest.mark.parametrize(
    ("kind", "asset", "query", "message"),
    [
        ("csv", "rows", "SELECT list(range) AS everything FROM range(50000000)", "Out of Memory Error"),
        (
            "sqlite",
            "ledger",
            "SELECT length(printf('%.*c', 100000000, 'x')) AS everything",
            "The query needed more memory than a query may use",
        ),
    ],
)
def test_a_query_past_the_memory_limit_answers_400(
    admin: Api, spaces: Path, kind: str, asset: str, query: str, message: str
) -> None:
    assert assert_refused(ask(admin, query, kind=kind, asset=asset)).startswith(message)

    assert ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"] == [{"n": 1}]


def test_a_replaced_asset_is_read_anew_by_the_next_query(admin: Api, spaces: Path) -> None:
    before = ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"]

    attach_data_asset(
        spaces,
        space_name="demo",
        subpath="reports",
        parent="sales",
        shortname="rows",
        kind="csv",
        content=csv_bytes("region,total", "north,10", "south,4", "east,1"),
    )
    after = ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"]

    assert (before, after) == ([{"n": 1}], [{"n": 3}])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("parquet", "Invalid Input Error: No magic bytes found at end of file 'attachments.parquet/damaged.parquet'"),
        ("duckdb", 'IO Error: The file "attachments.duckdb/damaged.duckdb" exists, but it is not a valid DuckDB'),
        ("sqlite", "file is not a database"),
    ],
)
def test_a_damaged_file_answers_400_without_harming_the_service(
    admin: Api, spaces: Path, kind: str, message: str
) -> None:
    attach_data_asset(
        spaces,
        space_name="demo",
        subpath="reports",
        parent="sales",
        shortname="damaged",
        kind=kind,
        content=b"PAR1 this is not what it claims to be " * 100,
    )

    table = "file" if kind == "parquet" else "sqlite_master" if kind == "sqlite" else "t"
    refused = assert_refused(ask(admin, f"SELECT * FROM {table}", kind=kind, asset="damaged"))

    assert refused.startswith(message)
    assert ask(admin, "SELECT count(*) AS n FROM file").json()["attributes"]["rows"] == [{"n": 1}]
