"""The `arena` command, run for real: acceptance figures, output, and one-line errors."""

from __future__ import annotations

import argparse
import json

import pytest
from conftest import FIXTURES, run_arena

from arena.cli import build_parser, main


def test_connect4_greedy_beats_random(config):
    proc = run_arena("match", "connect4", "greedy", "random", "--games", "100", "--seed", "1",
                     "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    greedy, rand = data["agents"]
    assert greedy["agent"] == "greedy" and greedy["games"] == 100
    assert greedy["wins"] >= 90
    assert greedy["wins"] + greedy["draws"] + greedy["losses"] == 100
    assert rand["wins"] == greedy["losses"]
    assert len(data["match_ids"]) == 100 and data["forfeits"] == []


def test_tictactoe_mcts_loses_none_to_random(config):
    proc = run_arena("match", "tictactoe", "mcts", "random", "--games", "50")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("mcts "))
    games, wins, draws, losses, forfeits = map(int, row.split()[1:6])
    assert games == 50 and losses == 0 and forfeits == 0 and wins >= 40


def test_single_player_reports_mean_return_with_ci(config, capsys):
    assert main(["match", "cartpole", "random", "--games", "10", "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["returns"]) == 10 and data["ci95"] > 0
    assert data["mean_return"] == pytest.approx(sum(data["returns"]) / 10)
    assert 8 <= data["mean_return"] <= 60  # random CartPole lasts about 22 steps
    assert main(["match", "cartpole", "random", "--games", "5"]) == 0
    assert "mean return" in capsys.readouterr().out


def test_any_gym_id(config, capsys):
    assert main(["match", "gym:MountainCar-v0", "random", "--games", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["returns"] == [-200.0]


def test_pettingzoo_module_with_plain_agents(config, capsys):
    assert main(["match", "pz:pettingzoo.classic.connect_four_v3", "random", "random",
                 "--games", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sum(a["wins"] + a["draws"] for a in data["agents"]) >= 3


def test_forfeits_are_reported_and_stored(config, capsys):
    ref = f"{FIXTURES / 'faulty_agents.py'}:Raiser:bad_game=0"
    assert main(["match", "connect4", ref, "random", "--games", "3"]) == 0
    out = capsys.readouterr().out
    assert "forfeit in match 1:" in out and "raised RuntimeError: boom" in out
    assert main(["replay", "1"]) == 0
    assert "forfeited: raised RuntimeError: boom" in capsys.readouterr().out


def test_replay_prints_moves_and_final_board(config, capsys):
    assert main(["match", "tictactoe", "greedy", "random", "--games", "1", "--seed", "2"]) == 0
    capsys.readouterr()
    assert main(["replay", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("match 1: tictactoe, greedy (X) vs random (O), seed 2")
    assert "   1. X " in out and "a   b   c" in out
    assert lines[-1].startswith("result: ")


def test_listing_commands(config, capsys):
    assert main(["games", "--json"]) == 0
    ids = [g["id"] for g in json.loads(capsys.readouterr().out)]
    assert {"cartpole", "acrobot", "tictactoe", "connect4"} <= set(ids)
    assert main(["agents", "--json"]) == 0
    names = {a["name"]: a["kind"] for a in json.loads(capsys.readouterr().out)}
    assert names["mcts"] == "built-in" and names["quick"] == "roster"
    shipped = {n.replace("\\", "/").split("assets/models/")[-1] for n, k in names.items()
               if k == "model"}
    assert {"connect4", "go9-alphago"} <= shipped
    assert main(["agents"]) == 0
    out = capsys.readouterr().out
    assert "quick" in out and "alphago:<dir>" in out


def test_version_and_help():
    proc = run_arena("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("arena ")
    proc = run_arena("match", "--help")
    assert proc.returncode == 0 and "--time-per-move" in proc.stdout
    proc = run_arena("--help")
    assert proc.returncode == 0 and "mean return of an agent ± 95% CI" in proc.stdout


def _every_parser(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _every_parser(sub)


def test_every_help_text_renders_with_single_percent_signs():
    parsers = list(_every_parser(build_parser()))
    assert len(parsers) > 20
    for parser in parsers:
        text = parser.format_help()  # a stray % in a help string raises here
        assert "%%" not in text, parser.prog


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["match", "chess", "random"], "unknown game 'chess'"),
        (["match", "connect4", "greedy", "nobody"], "unknown agent 'nobody'"),
        (["match", "connect4", "greedy"], "is for 2 player(s); got 1 agent(s)"),
        (["match", "connect4", "greedy", "random", "--games", "0"], "argument --games: 0 is not at least 1"),
        (["match", "gym:NoSuchEnv-v9", "random"], "unknown gymnasium id 'NoSuchEnv-v9'"),
        (["match", "pz:no.such.module", "random"], "cannot import PettingZoo module 'no.such.module'"),
        (["match", "cartpole", "greedy"], "needs a board game with a search state"),
        (["replay", "77"], "no store at"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(config, args, message):
    proc = run_arena(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(config):
    proc = run_arena("match", "chess", "random", "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_demo_plays_and_stores_a_game(config, capsys):
    assert main(["demo", "--delay", "0"]) == 0
    out = capsys.readouterr().out
    assert "move 1:" in out and "stored as match 1" in out
