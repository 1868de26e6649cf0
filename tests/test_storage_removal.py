"""The removal journal: a removal cut short is finished at start, also after the tree itself was relocated."""

import shutil
from pathlib import Path

import pytest

from dmart_attach.storage import removal
from dmart_attach.storage.removal import TRASH, finish_removals, remove_paths


class Crash(Exception):
    """Stands for the process dying right after the journal is written."""


def test_a_journaled_removal_is_finished_in_a_relocated_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    (tree / "gone").mkdir(parents=True)
    (tree / "gone.json").write_text("{}")
    (tree / "kept.json").write_text("{}")

    def crash(*arguments: object) -> None:
        raise Crash

    monkeypatch.setattr(removal, "_carry_out", crash)
    with pytest.raises(Crash):
        remove_paths(tree / TRASH, [tree / "gone", tree / "gone.json"])
    monkeypatch.undo()
    relocated = Path(shutil.move(tree, tmp_path / "elsewhere"))

    assert finish_removals(relocated / TRASH) == 1
    assert sorted(path.relative_to(relocated).as_posix() for path in relocated.rglob("*")) == [".trash", "kept.json"]
