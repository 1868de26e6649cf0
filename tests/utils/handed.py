"""The handed bug cases of `cases/handed.jsonl`, by id."""

import json
from typing import Any

from tests.conftest import SHARED

CASES: dict[str, dict[str, Any]] = {
    case["id"]: case for case in map(json.loads, (SHARED / "cases" / "handed.jsonl").read_text().splitlines())
}
