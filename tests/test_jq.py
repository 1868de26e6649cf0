"""jq filters run in a child process that is stopped at the time limit."""

import pytest

from dmart_attach.errors import DmartError
from dmart_attach.services.jq import run_jq


def test_outputs_every_value() -> None:
    assert run_jq(".[] | .n * 2", [{"n": 1}, {"n": 2}], timeout=10) == [2, 4]


def test_a_broken_program_is_refused_with_121() -> None:
    with pytest.raises(DmartError) as refused:
        run_jq(".[] |", [], timeout=10)

    assert (refused.value.status_code, refused.value.code) == (400, 121)


def test_a_program_that_never_ends_is_stopped_with_120() -> None:
    with pytest.raises(DmartError) as stopped:
        run_jq("def forever: forever; forever", [], timeout=0.5)

    assert (stopped.value.status_code, stopped.value.code) == (400, 120)
