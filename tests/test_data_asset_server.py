"""Data-asset queries through a real server: uvicorn on a loopback port, plain HTTP calls."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.utils.data_assets import attach_data_asset, csv_bytes, duckdb_made, query_body, sqlite_bytes
from tests.utils.factories import record, request_body
from tests.utils.live import live_server

USERS = [
    ("sara", 31, "erbil"),
    ("omar", 27, "erbil"),
    ("lina", 40, "basra"),
    ("adam", 35, "mosul"),
    ("huda", 29, "erbil"),
]
# The user's example: a users CSV uploaded as resource type `csv` to `asset_csv/test_csv` with shortname `auto`.
USERS_CSV = csv_bytes(
    "shortname,email,age,city", *(f"{name},{name}@example.com,{age},{city}" for name, age, city in USERS)
)
USERS_JSONL = b"".join(
    json.dumps({"shortname": name, "age": age, "city": city}).encode() + b"\n" for name, age, city in USERS
)
CITY_COUNTS = "SELECT city, count(*) AS n FROM file GROUP BY city ORDER BY city"
EXPECTED_CITIES = [{"city": "basra", "n": 1}, {"city": "erbil", "n": 3}, {"city": "mosul", "n": 1}]


@pytest.fixture
def http(settings: Settings) -> Iterator[httpx.Client]:
    """A client of a real server, logged in as the admin."""
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        login = client.post("/user/login", json={"shortname": settings.admin_shortname, "password": ADMIN_PASSWORD})
        token = login.json()["records"][0]["attributes"]["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def create(http: httpx.Client, space_name: str, *records: dict[str, Any]) -> None:
    response = http.post("/managed/request", json=request_body(space_name, "create", *records))
    assert response.status_code == 200, response.text


def written(folder: Path, content: bytes) -> Path:
    path = folder / "users.csv"
    path.write_bytes(content)
    return path


def auto_shortname() -> str:
    """A shortname as an upload with shortname `auto` gets one."""
    return uuid.uuid4().hex[:8]


def asked(http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = http.post("/managed/data-asset", json=body)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["attributes"]["rows"]
    return rows


def test_csv_jsonl_and_parquet_assets_answer_counts_and_groups(
    http: httpx.Client, settings: Settings, tmp_path: Path
) -> None:
    spaces = settings.spaces_root
    create(http, "assets", record("space", "/", "assets", is_active=True))
    create(http, "assets", record("folder", "/", "asset_csv", is_active=True))
    create(http, "assets", record("content", "asset_csv", "test_csv", is_active=True))
    users = auto_shortname()
    files = {
        "csv": USERS_CSV,
        "jsonl": USERS_JSONL,
        "parquet": duckdb_made(
            tmp_path, "parquet", f"COPY (SELECT * FROM read_csv('{written(tmp_path, USERS_CSV)}')) TO 'out'"
        ),
    }
    for kind, content in files.items():
        shortname = users if kind == "csv" else kind
        attach_data_asset(
            spaces,
            space_name="assets",
            subpath="asset_csv",
            parent="test_csv",
            shortname=shortname,
            kind=kind,
            content=content,
        )

    for kind in files:
        assert asked(http, query_body("assets", "asset_csv", "test_csv", kind, "SELECT count(*) AS n FROM file")) == [
            {"n": 5}
        ]
        assert asked(http, query_body("assets", "asset_csv", "test_csv", kind, CITY_COUNTS)) == EXPECTED_CITIES


def test_database_assets_answer_counts_and_groups(http: httpx.Client, settings: Settings, tmp_path: Path) -> None:
    create(http, "assets", record("space", "/", "assets", is_active=True))
    create(http, "assets", record("folder", "/", "asset_db", is_active=True))
    create(http, "assets", record("content", "asset_db", "test_db", is_active=True))
    users = written(tmp_path, USERS_CSV)
    databases = {
        "sqlite": sqlite_bytes(
            tmp_path,
            "CREATE TABLE users (shortname TEXT, city TEXT)",
            "INSERT INTO users VALUES ('sara', 'erbil'), ('omar', 'erbil'), ('lina', 'basra'), ('adam', 'mosul'),"
            " ('huda', 'erbil')",
        ),
        "duckdb": duckdb_made(tmp_path, "duckdb", f"CREATE TABLE users AS SELECT * FROM read_csv('{users}')"),
    }
    for kind, content in databases.items():
        attach_data_asset(
            settings.spaces_root,
            space_name="assets",
            subpath="asset_db",
            parent="test_db",
            shortname=f"my_{kind}",
            kind=kind,
            content=content,
        )

    for kind in databases:
        count = query_body(
            "assets", "asset_db", "test_db", kind, "SELECT count(*) AS n FROM users", assets=[f"my_{kind}"]
        )
        groups = query_body(
            "assets", "asset_db", "test_db", kind, CITY_COUNTS.replace("file", "users"), assets=[f"my_{kind}"]
        )
        assert asked(http, count) == [{"n": 5}]
        assert asked(http, groups) == EXPECTED_CITIES


def test_two_csv_assets_answer_as_one_file_table_and_by_name(http: httpx.Client, settings: Settings) -> None:
    create(http, "assets", record("space", "/", "assets", is_active=True))
    create(http, "assets", record("folder", "/", "asset_csv", is_active=True))
    create(http, "assets", record("content", "asset_csv", "test_csv", is_active=True))
    header, *lines = USERS_CSV.splitlines()
    halves = {"first_half": [header, *lines[:2]], "second_half": [header, *lines[2:]]}
    for shortname, half in halves.items():
        attach_data_asset(
            settings.spaces_root,
            space_name="assets",
            subpath="asset_csv",
            parent="test_csv",
            shortname=shortname,
            kind="csv",
            content=b"\n".join(half) + b"\n",
        )

    assert asked(http, query_body("assets", "asset_csv", "test_csv", "csv", CITY_COUNTS)) == EXPECTED_CITIES
    by_name = "SELECT (SELECT count(*) FROM first_half) AS first, (SELECT count(*) FROM second_half) AS second"
    assert asked(http, query_body("assets", "asset_csv", "test_csv", "csv", by_name)) == [{"first": 2, "second": 3}]
    link = http.get("/managed/data-asset", params=query_body("assets", "asset_csv", "test_csv", "csv", CITY_COUNTS))
    assert link.json()["attributes"]["rows"] == EXPECTED_CITIES
