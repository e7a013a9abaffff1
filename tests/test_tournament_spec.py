"""Tournament specs: every mistake is one line naming the file, field and value; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_arena

from arena.cli import main
from tournaments.schedule import total_games
from tournaments.spec import load_spec

GOOD = {"name": "t", "game": "tictactoe", "participants": ["random", "greedy"]}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"games_per_pairing": 0},
         "field 'games_per_pairing': input should be greater than or equal to 1 (got 0)"),
        ({"format": "knockout"},
         ("field 'format': input should be 'round-robin', 'gauntlet', 'swiss' or 'leaderboard' "
          "(got 'knockout')")),
        ({"game": "chess"}, "field 'game': unknown game 'chess'"),
        ({"name": "my cup"}, "field 'name': should be letters, digits"),
        ({"participants": ["random"]},
         "field 'participants': a round-robin tournament needs at least 2 participants (got 1)"),
        ({"participants": ["random", "nosuch"]}, "field 'participants.1.agent': unknown agent"),
        ({"participants": ["random", {"name": "random", "agent": "greedy"}]},
         "field 'participants.1.name': 'random' is already the name of participant 0"),
        ({"participants": ["random", {"name": "x"}]}, "field 'participants.1.agent' is missing"),
        ({"participants": ["random", "mcts:sims=abc"]}, "parameter sims='abc' is not an int"),
        ({"time_per_move": -1}, "field 'time_per_move': input should be greater than 0 (got -1)"),
        ({"anchor": "gnugo"}, "field 'anchor': 'gnugo' is not a participant"),
        ({"participants": ["random", "greedy", "mcts"], "sprt": {"elo1": 20}},
         "field 'sprt': the SPRT stops head-to-head matches"),
        ({"sprt": {"elo0": 10, "elo1": 5}}, "field 'sprt.elo1': must be above elo0 (10) (got 5)"),
        ({"rounds": 3}, "field 'rounds': only swiss tournaments have rounds"),
        ({"format": "gauntlet", "challengers": 2}, "field 'challengers': the first 2 participants"),
        ({"game": "cartpole", "format": "swiss", "participants": ["random"]},
         "field 'format': 'swiss' needs a two-player game; 'cartpole' is single-player"),
        ({"game": "cartpole", "participants": ["random", "greedy"]},
         "field 'participants.1.agent': 'greedy' searches the game's rules"),
    ],
)
def test_a_bad_spec_is_one_line_and_exit_2(tmp_path, config, capsys, change, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**GOOD, **change}))
    assert main(["tournament", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"arena: {path}: ")
    assert expected in err
    assert not (tmp_path / "data" / "arena.db").exists()  # nothing stored


def test_broken_yaml_and_missing_files_are_one_line(tmp_path, config, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: t\nparticipants: [random, greedy\n")
    assert main(["tournament", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: invalid YAML at line" in err
    path.write_text("- just\n- a list\n")
    assert main(["tournament", "run", str(path)]) == 2
    assert "expected a mapping of fields" in capsys.readouterr().err
    assert main(["tournament", "run", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_real_command_exits_2_with_one_line(tmp_path, config):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**GOOD, "games_per_pairing": "many"}))
    proc = run_arena("tournament", "run", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "field 'games_per_pairing'" in proc.stderr and "'many'" in proc.stderr


def test_bare_references_name_themselves_and_the_name_defaults_to_the_file(tmp_path):
    path = tmp_path / "cup.yaml"
    path.write_text(yaml.safe_dump({"game": "connect4",
                                    "participants": ["mcts:sims=50", {"name": "g",
                                                                      "agent": "greedy"}]}))
    spec = load_spec(path)
    assert spec.name == "cup"
    assert [(p.name, p.agent) for p in spec.participants] == [("mcts:sims=50", "mcts:sims=50"),
                                                               ("g", "greedy")]


@pytest.mark.parametrize(("file", "games"), [("quickstart.yaml", 24), ("go9-gauntlet.yaml", 64),
                                             ("cartpole-leaderboard.yaml", 30)])
def test_the_shipped_specs_are_valid(file, games):
    spec = load_spec(Path(ROOT) / "tournaments" / file)
    assert total_games(spec) == games
