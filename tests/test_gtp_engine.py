"""`arena gtp AGENT`: GTP v2 on stdin/stdout, driven for real in a subprocess."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ARENA, FIXTURES, ROOT, run_arena
from gtp_referee import parse_showboard

from agents.gtp_agent import GtpProcess


def gtp_session(commands: list[str], *args: str) -> list[str]:
    """The responses of `arena gtp` to a whole script of input lines (each with its status)."""
    proc = subprocess.run([*ARENA, "gtp", *args], input="\n".join(commands) + "\n",
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n\n")
    return proc.stdout[:-2].split("\n\n")


def test_every_command_answers_and_ids_are_echoed(config):
    script = [
        "1 protocol_version", "2 name", "3 version", "4 known_command genmove",
        "5 known_command frobnicate", "6 list_commands", "7 boardsize 9", "8 clear_board",
        "9 komi 6.5", "10 play b E5", "11 genmove w", "12 showboard", "13 time_settings 600 30 5",
        "14 time_left b 580 0", "15 final_score", "16 undo", "17 quit",
        "18 name",  # after quit: never answered
    ]
    responses = gtp_session(script, "random", "--size", "9")
    assert len(responses) == 17
    for i, response in enumerate(responses, start=1):
        assert response.startswith(f"={i} ") or response == f"={i} ", response
    assert responses[0] == "=1 2"
    assert "Arena" in responses[1] and "random" in responses[1]
    assert re.fullmatch(r"=3 \d+\.\d+\.\d+", responses[2])
    assert responses[3] == "=4 true" and responses[4] == "=5 false"
    listed = responses[5][len("=6 "):].split("\n")
    for command in ("protocol_version", "name", "version", "known_command", "list_commands",
                    "quit", "boardsize", "clear_board", "komi", "play", "genmove", "undo",
                    "showboard", "final_score", "time_settings", "time_left"):
        assert command in listed
    vertex = responses[10][len("=11 "):]
    assert re.fullmatch(r"[A-HJ][1-9]|PASS", vertex.upper()) and vertex.upper() != "E5"
    board = parse_showboard(responses[11], 9)
    assert board[4][4] == "b"  # E5 is the centre
    stones = sum(row.count("w") for row in board)
    assert stones == (0 if vertex.upper() == "PASS" else 1)
    # One stone each (or black alone after a pass): area score with komi 6.5.
    assert responses[14] == ("=15 W+6.5" if stones else "=15 B+74.5")


def test_bad_commands_get_errors_and_the_engine_keeps_answering(config):
    script = [
        "boardsize 9", "play x", "play b Z99", "boardsize 42", "genmove purple", "frobnicate",
        "play", "komi lots", "boardsize nine", "undo", "known_command", "7 play w I5",
        "play b D4", "8 play w D4", "9 play b D4", "genmove b", "name",
    ]
    responses = gtp_session(script, "random", "--size", "9")
    assert len(responses) == len(script)
    assert responses[0] == "= "
    errors = responses[1:12]
    assert all(r.startswith("?") for r in errors), errors
    assert errors[2] == "? unacceptable size"
    assert errors[3] == "? invalid color"
    assert errors[4] == "? unknown command"
    assert errors[8] == "? cannot undo"
    assert errors[10].startswith("?7 ")  # there is no I column
    assert responses[12] == "= "
    assert responses[13] == "?8 illegal move" and responses[14] == "?9 illegal move"
    assert responses[15].startswith("= ") and responses[16].startswith("= Arena")


def test_gtp_preprocessing_comments_blank_lines_and_control_characters(config):
    script = ["# a comment line", "", "   \t  ", "1 name # trailing comment",
              "2\tknown_command\tplay", "3 proto\x01col_version\r", "4 boardsize 5"]
    responses = gtp_session(script, "random")
    assert responses[0].startswith("=1 Arena")
    assert responses[1] == "=2 true"
    assert responses[2] == "=3 2"  # control characters removed before parsing
    assert responses[3] == "=4 "


def test_undo_and_final_score_follow_the_board(config):
    script = ["boardsize 5", "komi 0.5", "play b C3", "play w pass", "play b B3", "final_score",
              "undo", "undo", "final_score", "showboard", "undo", "final_score", "undo"]
    responses = gtp_session(script, "random")
    assert responses[5] == "= B+24.5"  # black owns the 5x5 board
    assert responses[8] == "= B+24.5"  # still only black stones
    board = parse_showboard(responses[9], 5)
    assert board[2] == "..b.."  # B3 undone, C3 stays
    assert responses[11] == "= W+0.5"
    assert responses[12] == "? cannot undo"


def test_moves_after_two_passes_and_colours_out_of_turn(config):
    """GTP knows no game end and no turn order: play goes on after two passes,
    and either colour may be asked to move, also for a searching agent."""
    engine = GtpProcess([*ARENA, "gtp", "mcts:sims=30", "--size", "5"])
    try:
        for command in ("play b pass", "play w pass", "play b C3", "play b B2"):
            assert engine.command(command, 30) == ""
        for colour in "bbwwb":
            vertex = engine.command(f"genmove {colour}", 30)
            assert re.fullmatch(r"[A-E][1-5]|PASS", vertex.upper()), vertex
        board = parse_showboard(engine.command("showboard", 30), 5)
        assert sum(row.count("b") for row in board) >= 2
        assert re.fullmatch(r"[BW]\+\d+(\.5)?", engine.command("final_score", 30))
    finally:
        engine.close()


def test_an_agent_that_fails_gets_an_error_and_the_session_goes_on(config):
    ref = f"{FIXTURES / 'faulty_agents.py'}:Raiser:bad_game=0"
    responses = gtp_session(["genmove b", "play b D4", "name"], ref, "--size", "9")
    assert responses[0] == "? agent failed: RuntimeError: boom"
    assert responses[1] == "= " and responses[2].startswith("= Arena")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gtp", "nobody"], "unknown agent 'nobody'"),
        (["gtp", "random", "--size", "42"], "argument --size: 42 is outside 5..19"),
        (["gtp", "random", "--komi", "lots"], "argument --komi: 'lots' is not a number"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(config, args, message):
    proc = run_arena(*args, input="name\n")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_help(config):
    proc = run_arena("gtp", "--help")
    assert proc.returncode == 0 and "--komi" in proc.stdout and "GTP" in proc.stdout


def test_a_go9_model_refuses_another_board_size(config):
    """`boardsize 19` to the shipped go9 model is refused with '?'; its own size is fine."""
    responses = gtp_session(["1 boardsize 19", "2 boardsize 9", "3 boardsize 13", "4 quit"],
                            f"alphago:{ROOT / 'assets' / 'models' / 'go9-alphago'},sims=2",
                            "--size", "9")
    assert responses[0] == "?1 unacceptable size (the agent was trained on go9)"
    assert responses[1] == "=2 "
    assert responses[2] == "?3 unacceptable size (the agent was trained on go9)"
    # An agent of no one game takes any size.
    assert gtp_session(["1 boardsize 19", "2 quit"], "random")[0] == "=1 "
