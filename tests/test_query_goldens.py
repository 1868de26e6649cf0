"""Goldens 030 and 031 replayed: the records Dmart 1.6 answers, key for key and type for type (DECISIONS 8)."""

import json
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.utils.factories import Api

GOLDENS = SHARED / "goldens" / "dmart-1.6.0"
# The creates that build the goldens' entry and its record attachments, in the order Dmart ran them.
SETUP = ["002", "003", "004", "005", "006", "012", "013", "014", "015", "017"]
SQL_ONLY = {
    "space_name",
    "query_policies",
    "collaborators",
    "is_open",
    "workflow_shortname",
    "resolution_reason",
    "reporter",
    "state",
}


def golden(number: str) -> dict[str, Any]:
    [path] = GOLDENS.glob(f"{number}-*.json")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


# Checksums of history lines are not kept yet (issue 5): null where Dmart 1.6 has a string.
NOT_YET = {"last_checksum_history"}


def same_shape(expected: Any, actual: Any, where: str) -> None:
    """Every key of `expected` is in `actual` with the same JSON type; a null expects any value."""
    if expected is None or (actual is None and where.rpartition(".")[2] in NOT_YET):
        return
    assert type(actual) is type(expected) or {type(actual), type(expected)} <= {int, float}, where
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key in SQL_ONLY:
                continue
            assert key in actual, f"{where}.{key}"
            same_shape(value, actual[key], f"{where}.{key}")


@pytest.fixture
def replayed(admin: Api) -> Api:
    for number in SETUP:
        body = golden(number)["request"]["json"]
        response = admin.client.post("/managed/request", json=body, headers=admin.headers)
        assert response.status_code == 200, (number, response.text)
    return admin


@pytest.mark.parametrize("number", ["030", "031"])
def test_query_golden_replays(replayed: Api, number: str) -> None:
    recorded = golden(number)
    response = replayed.client.post("/managed/query", json=recorded["request"]["json"], headers=replayed.headers)
    expected = recorded["response"]["json"]

    assert response.status_code == recorded["response"]["status"]
    answer = response.json()
    assert answer["status"] == expected["status"]
    same_shape(expected["attributes"], answer["attributes"], "attributes")
    ours = {(record["resource_type"], record["shortname"]): record for record in answer["records"]}
    compared = 0
    for record in expected["records"]:
        key = (record["resource_type"], record["shortname"])
        if key[0] in {"media", "csv", "jsonl", "parquet"}:
            continue  # uploads come with issue 3
        if number == "031" and record["subpath"] != recorded["request"]["json"]["subpath"]:
            continue  # Dmart 1.6 lists some attachments as children of the folder; they stay attachments here
        assert key in ours, key
        same_shape({k: v for k, v in record.items() if k != "attachments"}, ours[key], str(key))
        for kind, items in (record.get("attachments") or {}).items():
            mine = {item["shortname"]: item for item in ours[key]["attachments"].get(kind, [])}
            for item in items:
                if kind not in {"media"}:
                    same_shape(item, mine[item["shortname"]], f"{key}.{kind}.{item['shortname']}")
        compared += 1
    assert compared >= 1
