"""The handed bug cases of the foundation, replayed exactly as `cases/handed.jsonl` writes them."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.utils.factories import Api
from tests.utils.handed import CASES

FOUNDATION_CASES = ["B01", "B03", "B21", "B23"]


def contains(answer: Any, subset: Any) -> bool:
    """`json_subset`: objects key by key, arrays element by element with the same length, scalars equal."""
    if isinstance(subset, dict):
        return isinstance(answer, dict) and all(key in answer and contains(answer[key], subset[key]) for key in subset)
    if isinstance(subset, list):
        same_length = isinstance(answer, list) and len(answer) == len(subset)
        return same_length and all(contains(item, part) for item, part in zip(answer, subset, strict=False))
    return bool(answer == subset)


def send(client: TestClient, headers: dict[str, str], exchange: dict[str, Any], round_value: str = "") -> Any:
    text = json.dumps(exchange).replace("{n}", round_value)
    exchange = json.loads(text)
    extra: dict[str, Any] = {}
    if "json" in exchange:
        extra["json"] = exchange["json"]
    elif "body" in exchange:
        extra["content"] = exchange["body"]
    return client.request(
        exchange["method"], exchange["path"], headers={**exchange.get("headers", {}), **headers}, **extra
    )


def check(response: Any, expect: dict[str, Any]) -> None:
    allowed = expect["status"] if isinstance(expect["status"], list) else [expect["status"]]
    assert response.status_code in allowed, response.text
    assert response.status_code != 500
    if "json_subset" in expect:
        assert contains(response.json(), expect["json_subset"]), response.text


@pytest.mark.parametrize("case_id", FOUNDATION_CASES)
def test_handed_case(admin: Api, case_id: str) -> None:
    case = CASES[case_id]
    for exchange in case["setup"]:
        assert send(admin.client, admin.headers, exchange).status_code == 200

    request = case["request"]
    rounds = [str(number) for number in range(request.get("rounds", 1))] if "rounds" in request else [""]
    for round_value in rounds:
        if "parallel" in request:
            with ThreadPoolExecutor(len(request["parallel"])) as pool:
                futures = [
                    pool.submit(send, admin.client, admin.headers, item, round_value) for item in request["parallel"]
                ]
                answers = [future.result() for future in futures]
            assert sorted(answer.status_code for answer in answers) == sorted(case["expect"]["status"])
            [winner] = [
                item for item, answer in zip(request["parallel"], answers, strict=True) if answer.status_code == 200
            ]
        else:
            check(send(admin.client, admin.headers, request, round_value), case["expect"])
            winner = None
        for follow_up in case.get("verify", []):
            response = send(admin.client, admin.headers, follow_up["request"], round_value)
            check(response, follow_up["expect"])
            if winner is not None:
                sent = winner["json"]["records"][0]["attributes"]["displayname"]
                assert response.json()["displayname"] == sent
    if case_id == "B01":
        attachments = send(admin.client, admin.headers, request).json()["attachments"]
        assert not attachments.get("comment")
