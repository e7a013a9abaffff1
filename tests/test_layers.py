"""Arena's packages form layers and imports point down only.

From the bottom up: games (rules, envs, the state contract, features, errors),
agents (the Agent contract, built-ins, learners, the match loop and series),
tournaments (scheduling, the store, recording, ratings, the league, backends),
arena (the shell: CLI, config, the trainer, the GTP front end, TUI, window).
Every import of every module counts, those inside functions too: a lazy import
is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("games", "agents", "tournaments", "arena")


def back_imports(root: Path) -> list[str]:
    """'file:line imports name' for every import of a package above the file's own."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    found = []
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if rank.get(top, -1) > rank[package]:
                        found.append(f"{path.relative_to(root)}:{node.lineno} imports {name}")
    return found


def test_no_module_imports_a_package_above_its_own():
    assert back_imports(ROOT) == []


def test_the_check_sees_a_back_import_even_inside_a_function(tmp_path):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "games" / "fine.py").write_text("import numpy\nfrom games import state\n")
    (tmp_path / "agents" / "ok.py").write_text("from games.errors import UserError\n")
    (tmp_path / "agents" / "bad.py").write_text(
        "def f():\n    from tournaments.store import Store\n    return Store\n")
    (tmp_path / "games" / "worse.py").write_text("import arena.cli\n")
    assert sorted(back_imports(tmp_path)) == ["agents/bad.py:2 imports tournaments.store",
                                              "games/worse.py:1 imports arena.cli"]
