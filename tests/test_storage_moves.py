"""The move journal: a move cut short is finished at start, also after the tree itself was relocated."""

import shutil
from pathlib import Path

import pytest

from dmart_attach.storage import moves
from dmart_attach.storage.moves import MOVES, finish_moves, move_paths


class Crash(Exception):
    """Stands for the process dying right after the journal is written."""


def test_a_journaled_move_is_finished_in_a_relocated_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a/file.json").write_text("{}")

    def crash(*arguments: object) -> None:
        raise Crash

    monkeypatch.setattr(moves, "_carry_out", crash)
    with pytest.raises(Crash):
        move_paths(tree / MOVES, [(tree / "a", tree / "b/a")], [(tree / "b/meta.json", b'{"n": 1}')])
    monkeypatch.undo()
    relocated = shutil.move(tree, tmp_path / "elsewhere")

    assert finish_moves(Path(relocated) / MOVES) == 1
    assert sorted(path.relative_to(relocated).as_posix() for path in Path(relocated).rglob("*")) == [
        ".moves",
        "b",
        "b/a",
        "b/a/file.json",
        "b/meta.json",
    ]
    assert (Path(relocated) / "b/meta.json").read_text() == '{"n": 1}'
