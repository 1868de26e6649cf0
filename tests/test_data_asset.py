"""POST and GET /managed/data-asset: which tables a query sees, and rows with their real types."""

from pathlib import Path
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils.data_assets import attach_data_asset, csv_bytes, duckdb_made, query_body, sqlite_bytes
from tests.utils.factories import Api, record


@pytest.fixture
def spaces(admin: Api, settings: Settings) -> Path:
    """A `demo` space whose `reports` folder holds the content entries `metrics` and `sales`."""
    admin.space("demo", "reports")
    admin.create("demo", record("content", "reports", "metrics", is_active=True))
    admin.create("demo", record("content", "reports", "sales", is_active=True))
    return settings.spaces_root


def attach(spaces: Path, shortname: str, kind: str, content: bytes, *, parent: str = "metrics") -> None:
    attach_data_asset(
        spaces, space_name="demo", subpath="reports", parent=parent, shortname=shortname, kind=kind, content=content
    )


def ask(admin: Api, query: str, *, kind: str = "csv", assets: list[str] | None = None, parent: str = "metrics") -> Any:
    body = query_body("demo", "reports", parent, kind, query, assets=assets)
    return admin.client.post("/managed/data-asset", json=body, headers=admin.headers)


def rows(admin: Api, query: str, **options: Any) -> list[dict[str, Any]]:
    response = ask(admin, query, **options)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()["attributes"]["rows"]
    return answer


def test_csv_values_keep_their_types_and_null_differs_from_empty_text(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id,score", "1,3.5", "2,"))

    response = ask(admin, "SELECT id, score, '' AS blank, NULL AS nothing FROM file ORDER BY id", assets=["scores"])

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "attributes": {
            "columns": [
                {"name": "id", "type": "BIGINT"},
                {"name": "score", "type": "DOUBLE"},
                {"name": "blank", "type": "VARCHAR"},
                {"name": "nothing", "type": "NULL"},
            ],
            "rows": [
                {"id": 1, "score": 3.5, "blank": "", "nothing": None},
                {"id": 2, "score": None, "blank": "", "nothing": None},
            ],
            "returned": 2,
            "truncated": False,
        },
    }


def test_two_csv_assets_answer_as_one_file_table_and_each_by_its_name(admin: Api, spaces: Path) -> None:
    attach(spaces, "north", "csv", csv_bytes("region,total", "north,10", "north,5"))
    attach(spaces, "south", "csv", csv_bytes("region,total", "south,7"))

    assert rows(admin, "SELECT count(*) AS n, sum(total) AS total FROM file") == [{"n": 3, "total": 22}]
    assert rows(admin, "SELECT region, sum(total) AS total FROM file GROUP BY region ORDER BY region") == [
        {"region": "north", "total": 15},
        {"region": "south", "total": 7},
    ]
    assert rows(admin, "SELECT count(*) AS n FROM south") == [{"n": 1}]
    assert rows(admin, "SELECT count(*) AS n FROM file", assets=["north"]) == [{"n": 2}]


def test_csv_with_a_byte_order_mark_and_semicolons_is_read_by_its_columns(admin: Api, spaces: Path) -> None:
    attach(spaces, "excel", "csv", b"\xef\xbb\xbfname;age\nsara;31\nomar;27\n")

    assert rows(admin, "SELECT name, age FROM file ORDER BY age") == [
        {"name": "omar", "age": 27},
        {"name": "sara", "age": 31},
    ]


def test_jsonl_rows_with_different_keys_share_one_table(admin: Api, spaces: Path) -> None:
    attach(spaces, "events", "jsonl", b'{"kind": "click", "n": 2}\n{"kind": "view", "n": 5, "page": "/home"}\n')

    assert rows(admin, "SELECT kind, n, page FROM file ORDER BY kind", kind="jsonl") == [
        {"kind": "click", "n": 2, "page": None},
        {"kind": "view", "n": 5, "page": "/home"},
    ]


def test_parquet_timestamps_lists_and_structs_come_back_as_json(admin: Api, spaces: Path, tmp_path: Path) -> None:
    content = duckdb_made(
        tmp_path,
        "parquet",
        "COPY (SELECT TIMESTAMP '2024-01-02 03:04:05' AS at, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS at_zone, "
        "['a', 'b'] AS tags, {'k': 1, 'day': DATE '2024-05-06'} AS info) TO 'out' (FORMAT parquet)",
    )
    attach(spaces, "readings", "parquet", content)

    response = ask(admin, "SELECT * FROM readings", kind="parquet")

    assert response.status_code == 200, response.text
    attributes = response.json()["attributes"]
    assert attributes["rows"] == [
        {
            "at": "2024-01-02T03:04:05",
            "at_zone": "2024-01-02T01:04:05+00:00",
            "tags": ["a", "b"],
            "info": {"k": 1, "day": "2024-05-06"},
        }
    ]
    assert [column["type"] for column in attributes["columns"]] == [
        "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE",
        "VARCHAR[]",
        'STRUCT(k INTEGER, "day" DATE)',
    ]


def test_sqlite_tables_are_queried_by_their_own_names(admin: Api, spaces: Path, tmp_path: Path) -> None:
    content = sqlite_bytes(
        tmp_path,
        "CREATE TABLE people (name TEXT, city TEXT, age INTEGER, photo BLOB)",
        "INSERT INTO people VALUES ('sara', 'erbil', 31, x'0102'), ('omar', 'erbil', 27, NULL),"
        " ('lina', 'basra', 40, NULL)",
    )
    attach(spaces, "census", "sqlite", content)

    response = ask(
        admin, "SELECT city, count(*) AS n FROM people GROUP BY city ORDER BY city", kind="sqlite", assets=["census"]
    )
    assert response.json()["attributes"] == {
        "columns": [{"name": "city", "type": "TEXT"}, {"name": "n", "type": "INTEGER"}],
        "rows": [{"city": "basra", "n": 1}, {"city": "erbil", "n": 2}],
        "returned": 2,
        "truncated": False,
    }
    assert rows(admin, "SELECT photo FROM people WHERE name = 'sara'", kind="sqlite", assets=["census"]) == [
        {"photo": "AQI="}
    ]


def test_duckdb_database_tables_are_queried_by_their_own_names(admin: Api, spaces: Path, tmp_path: Path) -> None:
    content = duckdb_made(
        tmp_path, "duckdb", "CREATE TABLE orders AS SELECT range AS id, range % 3 AS shop FROM range(10)"
    )
    attach(spaces, "warehouse", "duckdb", content)

    assert rows(
        admin, "SELECT shop, count(*) AS n FROM orders GROUP BY shop ORDER BY shop", kind="duckdb", assets=["warehouse"]
    ) == [{"shop": 0, "n": 4}, {"shop": 1, "n": 3}, {"shop": 2, "n": 3}]


def test_get_runs_the_same_query_as_a_link(admin: Api, spaces: Path) -> None:
    attach(spaces, "north", "csv", csv_bytes("region,total", "north,10"))
    attach(spaces, "south", "csv", csv_bytes("region,total", "south,7"))
    body = query_body("demo", "reports", "metrics", "csv", "SELECT region FROM file ORDER BY region")

    response = admin.get("/managed/data-asset", **body, filter_data_assets=["north", "south"])

    assert response.status_code == 200, response.text
    assert response.json()["attributes"]["rows"] == [{"region": "north"}, {"region": "south"}]


def test_the_body_pydmart_sends_is_accepted(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))
    body = query_body("demo", "reports", "metrics", "csv", "SELECT * FROM file")

    response = admin.client.post(
        "/managed/data-asset", json={**body, "filter_data_assets": None, "branch_name": None}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["attributes"]["rows"] == [{"id": 1}]


def test_values_json_cannot_hold_natively_are_answered_in_a_lossless_form(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))

    assert rows(
        admin,
        "SELECT 170141183460469231731687303715884105727::HUGEINT AS huge, 1.25::DECIMAL(6, 2) AS price, "
        "'abc'::BLOB AS raw, '{\"a\": [1, null]}'::JSON AS doc, 1 AS id, 2 AS id, "
        "'nan'::DOUBLE AS not_a_number, MAP([1, 2], ['x', 'y']) AS pairs FROM file",
    ) == [
        {
            "huge": "170141183460469231731687303715884105727",
            "price": 1.25,
            "raw": "YWJj",
            "doc": {"a": [1, None]},
            "id": 1,
            "id_1": 2,
            "not_a_number": None,
            "pairs": {"1": "x", "2": "y"},
        }
    ]


def test_an_entry_sees_only_its_own_assets(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))
    attach(spaces, "orders", "csv", csv_bytes("id", "9"), parent="sales")

    response = ask(admin, "SELECT * FROM scores", parent="sales")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "data_asset"
    assert "Table with name scores does not exist" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELEC 1", 'Parser Error: syntax error at or near "SELEC"'),
        ("SELECT nope FROM file", 'Binder Error: Referenced column "nope" not found'),
        ("SELECT * FROM missing", "Catalog Error: Table with name missing does not exist!"),
    ],
)
def test_sql_errors_answer_400_with_duckdbs_message(admin: Api, spaces: Path, query: str, message: str) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))

    response = ask(admin, query)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("data_asset", 402)
    assert error["message"].startswith(message)


def test_an_unknown_space_answers_400(admin: Api, spaces: Path) -> None:
    body = query_body("nowhere", "reports", "metrics", "csv", "SELECT 1")

    response = admin.client.post("/managed/data-asset", json=body, headers=admin.headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 203


def test_a_missing_entry_answers_404(admin: Api, spaces: Path) -> None:
    response = ask(admin, "SELECT 1", parent="missing")

    assert response.status_code == 404
    assert (response.json()["error"]["type"], response.json()["error"]["code"]) == ("db", 220)


def test_a_named_asset_that_does_not_exist_answers_404(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))

    response = ask(admin, "SELECT 1", assets=["scores", "ghost"])

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "No csv data asset named ghost on this entry"


def test_an_entry_without_assets_of_the_kind_answers_400_220(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))

    response = ask(admin, "SELECT 1", kind="parquet")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "data_asset",
        "code": 220,
        "message": "This entry has no parquet data asset",
        "info": None,
    }


def test_an_asset_whose_file_is_gone_answers_404_402(admin: Api, spaces: Path) -> None:
    attach(spaces, "scores", "csv", csv_bytes("id", "1"))
    (spaces / "demo/reports/.dm/metrics/attachments.csv/scores.csv").unlink()

    response = ask(admin, "SELECT 1")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid data asset file found at reports/metrics/scores"


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_database_query_names_exactly_one_asset(admin: Api, spaces: Path, kind: str) -> None:
    for assets in (None, ["one", "two"]):
        response = ask(admin, "SELECT 1", kind=kind, assets=assets)

        assert response.status_code == 422
        assert response.json()["error"]["type"] == "validation"


def test_a_query_makes_tables_only_of_the_assets_it_names(admin: Api, spaces: Path) -> None:
    attach(spaces, "good", "jsonl", b'{"n": 1}\n{"n": 2}\n')
    attach(spaces, "broken", "jsonl", b'{"n": 1}\n{not json\n')

    named = ask(admin, "SELECT count(*) AS n FROM good", kind="jsonl")
    union = ask(admin, "SELECT count(*) AS n FROM file", kind="jsonl")

    assert named.json()["attributes"]["rows"] == [{"n": 2}]
    assert union.status_code == 400
    assert union.json()["error"]["message"].startswith(
        'Invalid Input Error: Malformed JSON in file "attachments.jsonl/broken.jsonl"'
    )
