"""`arena data gnugo`: a dataset of GnuGo self-play games, one SGF file per game.

AlphaGo's first stage learns from expert games; here the expert is GnuGo
playing itself over GTP. At a given seed GnuGo plays the same moves from the
same position, so each game starts with a few random legal moves
(1..`max_opening`, kept off the first line) and GnuGo gets a per-game random
seed (GTP ``set_random_seed``): every game is different, and the same seed
gives the same dataset. The random moves are in
the SGF like any other, and the root's GC says how many there were
(``opening=3``), so that training skips them: they are not GnuGo's choices.

Games are played by `jobs` worker processes, each with its own GnuGo, under
Chinese rules (area scoring) with komi 7.5; RE is GnuGo's own final score.
Game ``i`` is ``game-<i>.sgf`` and depends only on (seed, i), so a rerun keeps
every file already written (each is written atomically) and plays only the
missing ones: a larger ``--games`` adds games. ``index.json`` lists the games.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.gtp_agent import EngineError, GtpProcess, find_gnugo
from games.errors import UserError
from games.fileio import atomic_write
from games.go.sgf import COLOURS
from games.go.state import GoState

KOMI = 7.5
INDEX = "index.json"
_OPENING = re.compile(r"opening=(\d+)")


def default_out(data_dir: Path, size: int, level: int) -> Path:
    """Where a dataset goes unless --out says otherwise."""
    return Path(data_dir).expanduser() / "datasets" / f"gnugo-{size}-l{level}"


def game_path(out: Path, index: int) -> Path:
    return Path(out) / f"game-{index:06d}.sgf"


def max_opening(size: int) -> int:
    """How many random moves may open a game: more on bigger boards."""
    return 2 if size <= 5 else 3 if size <= 7 else 4


@dataclass
class GameRecord:
    """One game of the dataset (what index.json lists)."""

    file: str
    moves: int
    opening: int
    result: str | None


# -- one game ------------------------------------------------------------------------------


def _opening_moves(state: GoState, rng: np.random.Generator, count: int) -> list[int]:
    """`count` random legal moves, off the first line when the board allows (played on `state`)."""
    n = state.size
    moves = []
    for _ in range(count):
        legal = [a for a in state.legal_actions() if a != state.pass_action]
        inner = [a for a in legal if 0 < a // n < n - 1 and 0 < a % n < n - 1]
        choice = inner or legal
        if not choice:
            break
        action = int(choice[rng.integers(len(choice))])
        state.play(action)
        moves.append(action)
    return moves


def play_game(engine: GtpProcess, size: int, level: int, seed: int, index: int) -> bytes:
    """One GnuGo self-play game as SGF bytes (game `index` of the dataset made with `seed`)."""
    from sgfmill import sgf

    rng = np.random.default_rng([seed, index])
    state = GoState(size, KOMI)
    engine.command(f"boardsize {size}", 10.0)
    engine.command(f"komi {KOMI}", 10.0)
    engine.command("clear_board", 10.0)
    engine.command(f"set_random_seed {int(rng.integers(1, 2**31 - 1))}", 10.0)
    opening = _opening_moves(state, rng, int(rng.integers(1, max_opening(size) + 1)))
    replay = GoState(size, KOMI)
    for action in opening:
        colour = COLOURS[replay.to_play]
        engine.command(f"play {colour} {replay.action_label(action)}", 10.0)
        replay.play(action)
    moves = list(opening)
    resigned = None
    while not state.is_terminal():
        colour = state.to_play
        reply = engine.command(f"genmove {COLOURS[colour]}", 60.0)
        if reply.lower() == "resign":
            resigned = colour
            break
        try:
            action = state.parse_action(reply)
            state.play(action)
        except ValueError as exc:
            raise EngineError(f"GnuGo played '{reply}', illegal here: {exc}") from None
        moves.append(action)
    if resigned is not None:
        result = f"{'W' if resigned == 0 else 'B'}+R"
    else:
        result = engine.command("final_score", 30.0).strip() or None
    game = sgf.Sgf_game(size)
    root = game.get_root()
    root.set("KM", KOMI)
    root.set("RU", "Chinese")
    root.set("AP", ("Arena", "gnugo-dataset"))
    root.set("PB", f"GNU Go level {level}")
    root.set("PW", f"GNU Go level {level}")
    root.set("GC", f"opening={len(opening)} seed={seed} game={index}")
    if result:
        root.set("RE", result)
    colour = 0
    for action in moves:
        node = game.extend_main_sequence()
        point = None if action == size * size else (size - 1 - action // size, action % size)
        node.set_move(COLOURS[colour], point)
        colour = 1 - colour
    return game.serialise()


# -- the worker pool -----------------------------------------------------------------------

_engine: GtpProcess | None = None
_argv: list[str] = []


def _worker_init(argv: list[str]) -> None:
    global _argv
    _argv = argv


def _worker_game(job: tuple[str, int, int, int, int]) -> tuple[int, str | None]:
    """Play and write one game; (index, error message or None)."""
    global _engine
    out, size, level, seed, index = job
    for attempt in range(2):
        try:
            if _engine is None or not _engine.alive:
                _engine = GtpProcess(_argv)
            data = play_game(_engine, size, level, seed, index)
            atomic_write(game_path(Path(out), index), data)
            return index, None
        except EngineError as exc:
            if _engine is not None:
                _engine.kill()
            _engine = None
            if attempt == 1:
                return index, str(exc)
    return index, "unreachable"


# -- the dataset ---------------------------------------------------------------------------


def opening_length(path: Path) -> int:
    """How many random opening moves an SGF of the dataset starts with (0 if it does not say)."""
    with open(path, "rb") as f:  # its first 2000 bytes only, whatever the file's size
        text = f.read(2000).decode("utf-8", "replace")
    match = _OPENING.search(text)
    return int(match.group(1)) if match else 0


def _record(path: Path) -> GameRecord:
    from games.go.sgf import read_sgf

    game = read_sgf(path)
    return GameRecord(path.name, len(game.moves), opening_length(path), game.result)


def write_index(out: Path, meta: dict[str, Any]) -> list[GameRecord]:
    """(Re)write index.json from the SGF files in `out`, reusing the entries it already has."""
    known: dict[str, dict[str, Any]] = {}
    index_path = out / INDEX
    if index_path.is_file():
        try:
            known = {g["file"]: g for g in _read_index(index_path).get("games", [])}
        except (ValueError, KeyError, TypeError, AttributeError):
            known = {}
    records = []
    for path in sorted(out.glob("game-*.sgf")):
        entry = known.get(path.name)
        if entry is not None:
            records.append(GameRecord(**entry))
        else:
            records.append(_record(path))
    payload = dict(meta, games=[r.__dict__ for r in records], count=len(records))
    atomic_write(index_path, json.dumps(payload, indent=1).encode())
    return records


def _read_index(path: Path) -> Any:
    """index.json parsed, read with a bound (InputTooLarge, a UserError, past 16 MB)."""
    from games.inputs import read_bounded

    return json.loads(read_bounded(path, "JSON index"))


def check_args(size: int, games: int, level: int, jobs: int) -> None:
    if not 5 <= size <= 19:
        raise UserError(f"argument --size: {size} is outside 5..19")
    if games < 1:
        raise UserError(f"argument --games: {games} is not at least 1")
    if not 0 <= level <= 10:
        raise UserError(f"argument --level: {level} is outside 0..10")
    if jobs < 1:
        raise UserError(f"argument --jobs: {jobs} is not at least 1")


def generate(out: Path, size: int = 9, games: int = 100, level: int = 1, jobs: int | None = None,
             seed: int = 0, progress: Callable[[int, int, float], None] | None = None
             ) -> dict[str, Any]:
    """Make sure `out` holds games 0..games-1 of the dataset (seed, size, level); play the missing.

    `progress(done, total, seconds)` is called as games finish. Returns a
    summary: games in the dataset, games played now, failures, seconds and
    games per second. UserError when GnuGo is missing or the directory holds
    a dataset made with other settings.
    """
    jobs = jobs or os.cpu_count() or 1
    check_args(size, games, level, jobs)
    out = Path(out)
    meta = {"engine": "gnugo", "size": size, "komi": KOMI, "level": level, "seed": seed,
            "rules": "chinese"}
    index_path = out / INDEX
    if index_path.is_file():
        try:
            old = _read_index(index_path)
        except ValueError:
            old = {}
        if not isinstance(old, dict):
            old = {}
        for key in ("size", "level", "seed"):
            if key in old and old[key] != meta[key]:
                raise UserError(f"--out: '{out}' holds a dataset with {key} {old[key]}, "
                                f"not {meta[key]}")
    todo = [i for i in range(games) if not game_path(out, i).exists()]
    gnugo = find_gnugo()
    if gnugo is None and todo:  # a complete dataset needs no GnuGo
        raise UserError("GnuGo is not installed (no 'gnugo' on PATH or /usr/games/gnugo)")
    out.mkdir(parents=True, exist_ok=True)
    argv = [gnugo or "gnugo", "--mode", "gtp", "--level", str(level), "--chinese-rules"]
    start = time.perf_counter()
    failures: list[str] = []
    done = 0
    if todo:
        jobs = min(jobs, len(todo))
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ctx.Pool(jobs, initializer=_worker_init, initargs=(argv,)) as pool:
            jobs_iter = ((str(out), size, level, seed, i) for i in todo)
            for index, error in pool.imap_unordered(_worker_game, jobs_iter):
                done += 1
                if error is not None:
                    failures.append(f"game {index}: {error}")
                if progress is not None:
                    progress(done, len(todo), time.perf_counter() - start)
                if done % 100 == 0:
                    write_index(out, meta)
    seconds = time.perf_counter() - start
    records = write_index(out, meta)
    return {"out": str(out), "games": len(records), "played": done - len(failures),
            "failures": failures, "seconds": seconds,
            "games_per_s": (done - len(failures)) / seconds if done and seconds > 0 else 0.0,
            "moves": sum(r.moves for r in records)}


def run_command(args: Any, settings: Any) -> int:
    """`arena data gnugo ...`: generate, showing progress on stderr; prints a summary."""
    check_args(args.size, args.games, args.level, args.jobs or 1)
    out = Path(args.out) if args.out else default_out(settings.data_dir, args.size, args.level)
    show = sys.stderr.isatty()

    def progress(done: int, total: int, seconds: float) -> None:
        if not show and done != total:
            return
        rate = done / seconds if seconds > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} games "
                         f"{rate:5.2f} games/s  ETA {int(eta // 60)}:{int(eta % 60):02d} ")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    summary = generate(out, size=args.size, games=args.games, level=args.level, jobs=args.jobs,
                       seed=args.seed, progress=progress)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['games']} games in {summary['out']} ({summary['played']} played now in "
              f"{summary['seconds']:.1f} s, {summary['games_per_s']:.2f} games/s; "
              f"{summary['moves']} moves in all)")
        for failure in summary["failures"]:
            print(f"failed: {failure}", file=sys.stderr)
    return 1 if summary["failures"] else 0
