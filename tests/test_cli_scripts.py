"""The `arena` command inside scripts: closed pipes, paths, typos, models of another game,
and what the move cap does, run as real subprocesses against a real store."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ARENA, ROOT, matches_stored, run_arena
from tournament_support import write_spec

CONNECT4_MODEL = "alphazero:assets/models/connect4"


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _with_closed_stdout(*args: str) -> subprocess.CompletedProcess:
    """`arena ARGS | head -0`: stdout is a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([*ARENA, *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=120, cwd=ROOT, env=dict(os.environ))
    finally:
        os.close(write_end)


# -- a closed stdout -----------------------------------------------------------------------------


def test_a_closed_stdout_ends_every_command_quietly(config):
    assert run_arena("match", "tictactoe", "greedy", "random", "--games", "2").returncode == 0
    for args in (["replay", "1"], ["games"], ["agents", "--json"],
                 ["match", "tictactoe", "random", "random", "--games", "2", "--json"]):
        proc = _with_closed_stdout(*args)
        assert proc.returncode == 141, (args, proc.stderr)  # 128 + SIGPIPE, as `yes | head` ends
        assert proc.stderr == "", (args, proc.stderr)  # no BrokenPipeError traceback, no warning


def test_replay_piped_into_head_prints_its_first_lines(config):
    assert run_arena("match", "go9", "random", "random", "--games", "1").returncode == 0
    shell = subprocess.run(f"{' '.join(ARENA)} replay 1 | head -3; echo \"rc=${{PIPESTATUS[0]}}\"",
                           shell=True, executable="/bin/bash", capture_output=True, text=True,
                           timeout=120, cwd=ROOT, env=dict(os.environ))
    lines = shell.stdout.splitlines()
    assert lines[0].startswith("match 1: go9") and len(lines) == 4
    assert lines[-1] in ("rc=0", "rc=141")  # 0 if the replay fitted in the pipe before head left
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr


# -- references that look like paths --------------------------------------------------------------


@pytest.mark.parametrize("ref", ["runs/nope", "./nope", "~/arena-no-such-run", "../nope/deeper"])
def test_a_missing_path_is_no_such_directory(config, ref):
    line = _one_line_error(run_arena("eval", ref, "cartpole"))
    assert line.startswith(f"arena: no such directory: {ref}"), line
    assert "unknown agent" not in line


@pytest.mark.parametrize("ref", ["alphazero:runs/nope", "alphago:runs/nope,sims=5"])
def test_a_missing_model_directory_is_no_such_directory(config, ref):
    line = _one_line_error(run_arena("match", "go9", ref, "random"))
    assert line.startswith("arena: no such directory: runs/nope"), line


def test_a_path_to_a_file_is_not_a_directory(config):
    line = _one_line_error(run_arena("eval", "./README.md", "cartpole"))
    assert "not a directory: ./README.md" in line


# -- typos -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["eval", "rnadom", "cartpole"], "unknown agent 'rnadom': did you mean random?"),
        (["match", "connect4", "greedy", "mcst:sims=5"], "unknown agent 'mcst:sims=5': did you mean mcts?"),
        (["match", "connect4", "quik", "random"], "did you mean quick?"),  # the roster's name
        (["match", "conect4", "random", "random"], "unknown game 'conect4': did you mean connect4?"),
        (["match", "tictactoo", "random", "random"], "did you mean tictactoe?"),
    ],
)
def test_a_typo_gets_a_suggestion(config, args, hint):
    line = _one_line_error(run_arena(*args))
    assert hint in line, line
    assert "(known: " in line  # the whole list is still there


def test_no_suggestion_when_nothing_is_close(config):
    line = _one_line_error(run_arena("match", "connect4", "greedy", "zzzzzz"))
    assert "did you mean" not in line and "unknown agent 'zzzzzz'" in line


# -- a model of another game -----------------------------------------------------------------------


def test_a_connect4_model_in_a_go_match_is_refused_before_any_game(config):
    line = _one_line_error(run_arena("match", "go9", CONNECT4_MODEL, "random"))
    assert line == f"arena: agent '{CONNECT4_MODEL}' was trained on connect4, not go9"
    assert matches_stored(config) == 0  # no stored forfeit game
    line = _one_line_error(run_arena("watch", "go9", "random", CONNECT4_MODEL))
    assert f"agent '{CONNECT4_MODEL}' was trained on connect4, not go9" in line


def test_a_connect4_model_is_no_gtp_engine(config):
    line = _one_line_error(run_arena("gtp", CONNECT4_MODEL, input="quit\n"))
    assert line == f"arena: agent '{CONNECT4_MODEL}' was trained on connect4, not go9 (--size 9)"


def test_a_roster_name_for_a_model_says_which_game_it_knows(tmp_path, config):
    config.write_text(config.read_text() + f'c4 = "{CONNECT4_MODEL},sims=2"\n')
    line = _one_line_error(run_arena("match", "tictactoe", "c4", "random"))
    assert line == "arena: agent 'c4' was trained on connect4, not tictactoe"
    ok = run_arena("match", "connect4", "c4", "random", "--games", "1", "--json")
    assert ok.returncode == 0, ok.stderr  # its own game still plays


def test_a_tournament_with_a_model_of_another_game_is_refused(tmp_path, config):
    spec = write_spec(tmp_path, name="wrong-model", game="go9", participants=["random", CONNECT4_MODEL])
    line = _one_line_error(run_arena("tournament", "run", str(spec)))
    assert "field 'participants.1.agent'" in line
    assert f"agent '{CONNECT4_MODEL}' was trained on connect4, not go9" in line
    assert matches_stored(config) == 0


# -- the move cap ---------------------------------------------------------------------------------


def test_a_capped_go_game_is_adjudicated_by_score(config):
    proc = run_arena("match", "go9", "random", "random", "--games", "2", "--max-moves", "2",
                     "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert sum(a["draws"] for a in data["agents"]) == 0
    assert sum(a["wins"] for a in data["agents"]) == 2
    assert [c["counted"] for c in data["capped"]] == ["adjudicated", "adjudicated"]
    proc = run_arena("match", "go9", "random", "random", "--games", "1", "--max-moves", "2")
    assert "move cap reached in 1 game(s): 1 adjudicated by area score with komi" in proc.stdout
    replay = run_arena("replay", "1")
    assert replay.returncode == 0, replay.stderr
    result = next(line for line in replay.stdout.splitlines() if line.startswith("result: "))
    # Two stones on an empty 9x9 board: each side owns one point, komi 7.5 decides.
    assert result == "result: random wins, W+7.5 (move cap reached, adjudicated by score)"
    sgf = (config.parent / "data" / "sgf" / "1.sgf").read_text()
    assert "RE[W+7.5]" in sgf


def test_a_capped_game_without_a_score_stays_a_draw(config):
    proc = run_arena("match", "connect4", "random", "random", "--games", "2", "--max-moves", "3")
    assert proc.returncode == 0, proc.stderr
    assert "move cap reached in 2 game(s): 2 drawn" in proc.stdout
    data = json.loads(run_arena("match", "connect4", "random", "random", "--games", "1",
                                "--max-moves", "3", "--json").stdout)
    assert data["capped"] == [{"match_id": 3, "plies": 3, "counted": "draw", "winner": None}]
    replay = run_arena("replay", "1")
    assert "result: draw (move cap reached)" in replay.stdout


# -- agents given a game they cannot play ---------------------------------------------------------


def test_gnugo_in_tic_tac_toe_is_refused_before_any_game(tmp_path, config):
    line = _one_line_error(run_arena("match", "tictactoe", "gnugo", "random"))
    assert line == "arena: agent 'gnugo' cannot play tictactoe: it plays Go only (go5..go19)"
    assert matches_stored(config) == 0  # no stored forfeit game
    line = _one_line_error(run_arena("eval", "gnugo", "cartpole"))
    assert line == "arena: agent 'gnugo' cannot play cartpole: it plays Go only (go5..go19)"
    spec = write_spec(tmp_path, name="gnugo-ttt", game="tictactoe",
                      participants=["random", "gtp:/usr/games/gnugo --mode gtp"])
    line = _one_line_error(run_arena("tournament", "run", str(spec)))
    assert "field 'participants.1.agent'" in line and "cannot play tictactoe: it plays Go" in line
    assert matches_stored(config) == 0


def test_an_agent_class_says_which_games_it_plays(tmp_path, config):
    (tmp_path / "picky.py").write_text(
        "from agents.base import Agent\n\n"
        "class TicTacToeOnly(Agent):\n"
        "    plays = 'tic-tac-toe only'\n\n"
        "    def accepts(self, game):\n"
        "        return game.id == 'tictactoe'\n\n"
        "    def act(self, observation, action_mask):\n"
        "        return int(action_mask.argmax())\n")
    ref = f"{tmp_path / 'picky.py'}:TicTacToeOnly"
    line = _one_line_error(run_arena("match", "connect4", ref, "random"))
    assert line == f"arena: agent '{ref}' cannot play connect4: it plays tic-tac-toe only"
    assert matches_stored(config) == 0
    ok = run_arena("match", "tictactoe", ref, "random", "--games", "1")
    assert ok.returncode == 0, ok.stderr


# -- which games a match stored -------------------------------------------------------------------


def test_a_match_names_its_own_stored_games():
    from arena.cli import id_ranges

    assert id_ranges([4, 5, 6, 9, 12, 13]) == "4-6, 9, 12-13"
    assert id_ranges([7]) == "7"
    assert id_ranges([3, 1, 2]) == "1-3"


def test_two_matches_at_once_each_name_only_their_games(config):
    procs = [subprocess.Popen([*ARENA, "match", "tictactoe", "random", "random", "--games", "40"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, env=dict(os.environ)) for _ in range(2)]
    named = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        line = next(ln for ln in out.splitlines() if ln.startswith("stored as match"))
        ids = set()
        for part in line.split(" in ")[0].removeprefix("stored as matches ").split(", "):
            low, _, high = part.partition("-")
            ids.update(range(int(low), int(high or low) + 1))
        assert len(ids) == 40, line
        named.append(ids)
    assert not named[0] & named[1]  # neither claims the other's games
    assert named[0] | named[1] == set(range(1, 81))
