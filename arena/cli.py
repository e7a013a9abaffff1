"""The `arena` command.

Bad input (an unknown game or agent, a bad option, a malformed arena.toml)
prints one line naming what was wrong and exits with code 2; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from games import __version__
from games.errors import UserError
from games.registry import go_size

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head`
MAX_SERIES_GAMES = 1_000_000  # games of one `arena match` (a tournament's limit too)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text:.40}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _count(maximum: int) -> Any:
    """An argparse type: a whole number 1..maximum."""
    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > maximum:
            from games.errors import shown

            raise argparse.ArgumentTypeError(f"{shown(value)} is above {maximum:,}, the most "
                                             f"Arena accepts")
        return value
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text:.40}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not above 0")
    return value


def _seed(text: str) -> int:
    """A seed: a whole number 0..2**63-1, what the store keeps (a 64-bit signed INTEGER)."""
    from games.errors import shown
    from games.inputs import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{shown(value)} is outside 0..{MAX_SEED} "
                                         f"(2**63-1, the largest seed the store keeps)")
    return value


def _check_seed_span(seed: int, count: int, what: str) -> None:
    """UserError if game i's seed, seed + i, passes the largest seed for some i < count."""
    from games.inputs import MAX_SEED

    if seed + count - 1 > MAX_SEED:
        raise UserError(f"argument --seed: {seed} with {count} {what} passes the largest seed "
                        f"{MAX_SEED} (game i uses seed + i; at most {MAX_SEED - count + 1} "
                        f"for {count} {what})")


def _time_per_move(text: str) -> float:
    """Seconds per move: above 0 and at most a day."""
    from games.inputs import MAX_TIME_PER_MOVE

    value = _positive_float(text)
    if not value <= MAX_TIME_PER_MOVE:
        raise argparse.ArgumentTypeError(f"{text!s:.40} is above {MAX_TIME_PER_MOVE:g} "
                                         f"seconds (a day), the longest time per move")
    return value


def _positive_at_most(maximum: float) -> Any:
    """An argparse type: a number above 0 and at most `maximum` (so finite)."""
    def parse(text: str) -> float:
        value = _positive_float(text)
        if not value <= maximum:
            raise argparse.ArgumentTypeError(f"{text:.40} is above {maximum:g}")
        return value
    return parse


def _bounded_float(low: float, high: float) -> Any:
    """An argparse type: a number in low..high (NaN and infinities refused)."""
    def parse(text: str) -> float:
        value = _finite_float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is outside {low:g}..{high:g}")
        return value
    return parse


def _board_size(text: str) -> int:
    value = _positive_int(text)
    if not 5 <= value <= 19:
        raise argparse.ArgumentTypeError(f"{value} is outside 5..19")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                        help="arena.toml to use (default: $ARENA_CONFIG, then ./arena.toml)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    common.add_argument("--threads", type=_count(1024), default=argparse.SUPPRESS, metavar="N",
                        help="torch threads per process (default: arena.toml's threads, else "
                             "1 for playing and the cores for training)")

    parser = _Parser(prog="arena", parents=[common],
                     description="Game-playing agents: watch them, rank them, train them, "
                                 "play against them. With no command, opens the terminal app "
                                 "(or plays a short demo when not run in a terminal).")
    parser.add_argument("--version", action="version", version=f"arena {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("games", parents=[common], help="list the games")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("agents", parents=[common], help="list the agents")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("match", parents=[common], help="play games between agents",
                       description="Play GAME between AGENTs (colours alternate) and report "
                                   "wins/draws/losses/forfeits/resignations, or mean "
                                   "return ± 95% CI "
                                   "for single-player games. Every game is stored.")
    p.add_argument("game", metavar="GAME", help="a game id (see `arena games`)")
    p.add_argument("agents", metavar="AGENT", nargs="+",
                   help="agent references: one per seat (see `arena agents`)")
    p.add_argument("--games", type=_count(MAX_SERIES_GAMES), default=10, metavar="N",
                   help="number of games (default 10)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of game 1 (default 0)")
    p.add_argument("--time-per-move", type=_time_per_move, default=None, metavar="SEC",
                   help="time limit per move; overrunning forfeits (default from arena.toml)")
    p.add_argument("--max-moves", type=_positive_int, default=None, metavar="N",
                   help="move cap per game (default from arena.toml)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    p = sub.add_parser("replay", parents=[common], help="print a stored game move by move")
    p.add_argument("match_id", metavar="MATCH_ID", type=_count(2**63 - 1), help="the match's id")

    p = sub.add_parser("gtp", parents=[common], help="play Go as a GTP engine on stdin/stdout",
                       description="Speak GTP v2 on stdin/stdout with AGENT as the engine, "
                                   "for Go programs and servers (GoGui, gogui-twogtp, ...).")
    p.add_argument("agent", metavar="AGENT", help="an agent reference (see `arena agents`)")
    p.add_argument("--size", type=_board_size, default=9, metavar="N",
                   help="board size until boardsize says otherwise, 5..19 (default 9)")
    p.add_argument("--komi", type=_finite_float, default=7.5, metavar="K",
                   help="komi until the komi command says otherwise (default 7.5)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="seed of the agent's random choices (default 0)")

    p = sub.add_parser("train", parents=[common], help="train a learning agent",
                       description="Train ALGO (dqn, pg/reinforce, a2c, ppo, alphazero, alphago) on GAME with the "
                                   "preset hyperparameters from agents/presets/ALGO.yaml. "
                                   "Ctrl-C saves a checkpoint and exits; --resume continues.")
    p.add_argument("algo", metavar="ALGO", nargs="?",
                   help="dqn, pg (reinforce), a2c, ppo, alphazero or alphago "
                        "(not needed with --resume)")
    p.add_argument("game", metavar="GAME", nargs="?",
                   help="a game id (see `arena games`; not needed with --resume)")
    p.add_argument("--preset", metavar="NAME", help="a named preset (default: the game's own)")
    p.add_argument("--steps", type=_positive_int, metavar="N",
                   help="train until N env steps in all (default: the preset's total_steps)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="where the networks run (default from arena.toml)")
    p.add_argument("--out", metavar="DIR", help="the run directory (default RUNS_DIR/ALGO-GAME-sS-TIME; "
                        "runs_dir from arena.toml, else ./runs)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyperparameter (repeatable), e.g. --set lr=3e-4")
    p.add_argument("--eval-every", type=_positive_int, metavar="N",
                   help="evaluate every N steps (default: the preset's, else steps/20)")
    p.add_argument("--eval-episodes", type=_positive_int, default=20, metavar="N",
                   help="episodes per evaluation (default 20)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    p = sub.add_parser("eval", parents=[common], help="mean return of an agent ± 95%% CI",
                       description="Play AGENT on a single-player GAME for N seeded episodes "
                                   "and report the mean return with its 95% CI.")
    p.add_argument("agent", metavar="AGENT", help="an agent reference, e.g. runs/ppo-cartpole-s0")
    p.add_argument("game", metavar="GAME", help="a single-player game id")
    p.add_argument("--episodes", type=_count(MAX_SERIES_GAMES), default=20, metavar="N",
                   help="episodes (default 20)")
    p.add_argument("--seed", type=_seed, default=10_000, metavar="S",
                   help="seed of the first episode (default 10000)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("watch", parents=[common], help="watch agents play one game, live",
                       description="Watch AGENTs play one game of GAME live, with what they think "
                                   "beside the board: in the terminal app (--ui tui) or a window "
                                   "(--ui window). Space pauses, + and - change the speed. "
                                   "The game is stored.")
    p.add_argument("game", metavar="GAME", help="a game id (see `arena games`)")
    p.add_argument("agents", metavar="AGENT", nargs="+", help="one agent reference per seat")
    p.add_argument("--ui", choices=["tui", "window"], default="tui",
                   help="terminal app (default) or pygame window")
    p.add_argument("--speed", type=_positive_at_most(1000.0), default=1.0, metavar="X",
                   help="speed multiplier (default 1)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="the game's seed (default 0)")

    p = sub.add_parser("play", parents=[common], help="play a board game against an agent",
                       description="Play GAME against AGENT: click or type your moves. "
                                   "The game is stored (resigning is a loss by resignation).")
    p.add_argument("game", metavar="GAME", help="tictactoe, connect4 or go5..go19")
    p.add_argument("--vs", required=True, metavar="AGENT", help="the agent to play against")
    p.add_argument("--as", dest="side", choices=["first", "second"], default="first",
                   help="move first (default) or second")
    p.add_argument("--ui", choices=["tui", "window"], default="tui",
                   help="terminal app (default) or pygame window")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="the game's seed (default 0)")

    p = sub.add_parser("demo", parents=[common], help="a short demo match (connect four)")
    p.add_argument("--delay", type=_bounded_float(0.0, 60.0), default=None, metavar="SEC",
                   help="pause after each move (default 0.4 on a terminal, else 0)")

    p = sub.add_parser("tournament", parents=[common], help="run and inspect tournaments",
                       description="Round robins, gauntlets, swiss tournaments and single-player "
                                   "leaderboards from a YAML spec (see tournaments/*.yaml). "
                                   "Every game is stored at once; running a spec again resumes.")
    tsub = p.add_subparsers(dest="tournament_action", metavar="ACTION", parser_class=_Parser,
                            required=True)
    t = tsub.add_parser("run", parents=[common], help="play a tournament (or resume it)")
    t.add_argument("spec", metavar="SPEC", help="the tournament's YAML file")
    t.add_argument("--backend", choices=["local", "ray"], default=None,
                   help="local process pool or a Ray cluster (default: the spec's, else local)")
    t.add_argument("--address", metavar="ADDR", default=None,
                   help="the Ray cluster's address (ray backend; default: start a local one)")
    t.add_argument("--concurrency", type=_count(1024), default=None, metavar="N",
                   help="games at once (default: the spec's, else the cores)")
    t.add_argument("--json", action="store_true", help="print the run and standings as JSON")
    t = tsub.add_parser("show", parents=[common], help="a tournament's standings")
    t.add_argument("name", metavar="NAME", help="the tournament's name (or its spec file)")
    t.add_argument("--json", action="store_true", help="print the standings as JSON")
    t = tsub.add_parser("export", parents=[common],
                        help="standings as CSV/JSON, games as SGF/JSON, a ratings chart")
    t.add_argument("name", metavar="NAME", help="the tournament's name (or its spec file)")
    t.add_argument("--out", required=True, metavar="DIR", help="the directory to write into")
    t.add_argument("--no-chart", action="store_true", help="skip ratings.png (no matplotlib)")
    t.add_argument("--json", action="store_true", help="print the written paths as JSON")
    t = tsub.add_parser("list", parents=[common], help="the stored tournaments")
    t.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("data", parents=[common], help="make training datasets",
                       description="Make datasets of games to learn from.")
    dsub = p.add_subparsers(dest="data_action", metavar="SOURCE", parser_class=_Parser,
                            required=True)
    d = dsub.add_parser("gnugo", parents=[common], help="GnuGo self-play games as SGF files",
                        description="Play GnuGo against itself (Chinese rules, komi 7.5; each "
                                    "game opens with a few random moves) and write one SGF per "
                                    "game plus index.json. Rerunning keeps the games written and "
                                    "plays the missing ones, so a larger --games adds games.")
    d.add_argument("--size", type=_board_size, default=9, metavar="N", help="board size (default 9)")
    d.add_argument("--games", type=_count(MAX_SERIES_GAMES), required=True, metavar="N",
                   help="games the dataset should hold")
    d.add_argument("--level", type=int, default=1, metavar="L",
                   help="GnuGo's level 0..10 (default 1)")
    d.add_argument("--jobs", type=_count(1024), default=None, metavar="J",
                   help="GnuGo processes at once (default: the cores)")
    d.add_argument("--out", metavar="DIR", default=None,
                   help="the dataset directory (default DATA_DIR/datasets/gnugo-SIZE-lLEVEL)")
    d.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed (default 0)")
    d.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    p = sub.add_parser("league", parents=[common], help="self-play leagues: train, snapshot, rate",
                       description="A league trains its main learners by self-play round after "
                                   "round, freezes snapshots, plays evaluation games against "
                                   "earlier snapshots and fixed references chosen by prioritized "
                                   "fictitious self-play, and rates everyone (see "
                                   "tournaments/league-*.yaml and docs/league.md). Every game and "
                                   "round is stored at once; running a spec again resumes.")
    lsub = p.add_subparsers(dest="league_action", metavar="ACTION", parser_class=_Parser,
                            required=True)
    t = lsub.add_parser("run", parents=[common], help="run a league (or resume it)")
    t.add_argument("spec", metavar="SPEC", help="the league's YAML file")
    t.add_argument("--rounds", type=_count(10_000), default=None, metavar="N",
                   help="run until N rounds are done (default: the spec's rounds)")
    t.add_argument("--concurrency", type=_count(1024), default=None, metavar="N",
                   help="evaluation games at once (default: the spec's, else the cores)")
    t.add_argument("--json", action="store_true", help="print the run and standings as JSON")
    t = lsub.add_parser("show", parents=[common],
                        help="snapshots with Elo ± 95%%, games, PFSP weights")
    t.add_argument("name", metavar="NAME", help="the league's name (or its spec file)")
    t.add_argument("--json", action="store_true", help="print the standings as JSON")
    t = lsub.add_parser("export", parents=[common],
                        help="standings CSV/JSON, ratings history CSV, ratings_over_time.png")
    t.add_argument("name", metavar="NAME", help="the league's name (or its spec file)")
    t.add_argument("--out", required=True, metavar="DIR", help="the directory to write into")
    t.add_argument("--no-chart", action="store_true",
                   help="skip ratings_over_time.png (no matplotlib)")
    t.add_argument("--json", action="store_true", help="print the written paths as JSON")
    t = lsub.add_parser("list", parents=[common], help="the stored leagues")
    t.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        code = _dispatch(args)
        sys.stdout.flush()  # inside the try: a reader that has gone is seen here, not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except UserError as exc:
        if debug:
            raise
        from games.errors import one_line

        text = one_line(str(exc))  # a message quoting a huge value stays one readable line
        print(text if text.startswith("arena") else one_line(f"arena: {text}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\narena: interrupted; finished games are stored", file=sys.stderr)
        return 130


def _stdout_closed() -> int:
    """The reader of stdout went away (`arena replay 4 | head`): stop quietly, as cat does.

    stdout is pointed at /dev/null so that the flush at exit cannot fail again;
    the exit code is the shell's for a process ended by SIGPIPE (128 + 13).
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (a test's capture)
        pass
    return EXIT_BROKEN_PIPE


def _set_threads(args: argparse.Namespace, settings: Any) -> None:
    """This process's torch threads, by Arena's policy (agents/threads.py) unless told."""
    from agents.threads import apply_thread_policy

    training = args.command == "train" or (args.command == "league"
                                           and getattr(args, "league_action", None) == "run")
    apply_thread_policy("train" if training else "play",
                        requested=getattr(args, "threads", None) or settings.threads)


def _dispatch(args: argparse.Namespace) -> int:
    from arena.config import load_settings

    settings = load_settings(getattr(args, "config", None))
    command = args.command
    _set_threads(args, settings)
    if command is None:
        command = "app" if sys.stdin.isatty() and sys.stdout.isatty() else "demo"
    if command == "app":
        from arena.tui import run_app

        return run_app(settings=settings)
    if command == "watch":
        return _cmd_watch(args, settings)
    if command == "play":
        return _cmd_play(args, settings)
    if command == "games":
        return _cmd_games(args)
    if command == "agents":
        return _cmd_agents(args, settings)
    if command == "match":
        return _cmd_match(args, settings)
    if command == "replay":
        return _cmd_replay(args, settings)
    if command == "gtp":
        return _cmd_gtp(args, settings)
    if command == "train":
        return _cmd_train(args, settings)
    if command == "eval":
        return _cmd_eval(args, settings)
    if command == "tournament":
        from tournaments.commands import run_command

        return run_command(args, settings)
    if command == "league":
        from tournaments.league.commands import run_command as run_league_command

        return run_league_command(args, settings)
    if command == "demo":
        return _cmd_demo(getattr(args, "delay", None), settings)
    if command == "data":
        from agents.alphago.data import run_command as run_data_command

        return run_data_command(args, settings)
    raise UserError(f"unknown command '{command}'")


def _cmd_train(args: argparse.Namespace, settings: Any) -> int:
    from pathlib import Path

    from arena.train import run_training

    if not args.resume and (args.algo is None or args.game is None):
        raise UserError("arena train: ALGO and GAME are required (or --resume DIR)")
    summary = run_training(
        args.algo, args.game, preset_name=args.preset, steps=args.steps, seed=args.seed,
        device=args.device or settings.device, out=Path(args.out) if args.out else None,
        resume=Path(args.resume) if args.resume else None, overrides=args.overrides,
        eval_every=args.eval_every, eval_episodes=args.eval_episodes, runs_dir=settings.runs_dir,
        settings=settings,
    )
    if args.json:
        print(json.dumps(summary))
        return 0
    how = "stopped early" if summary["stopped_early"] else "done"
    if summary["algo"] == "alphago":  # stage figures: SL accuracy, RL vs SL, value MSE
        print(f"alphago on {summary['game']}: {how} at step {summary['steps']:,}; figures: "
              f"{json.dumps(summary['board']['figures'])}")
    elif "board" in summary and "evals" in summary["board"]:  # PPO/DQN self-play on a board
        board = summary["board"]
        last = board["last"] or {}
        rates = ", ".join(f"vs {ref} {last[ref]['wins']}-{last[ref]['draws']}-{last[ref]['losses']}"
                          for ref in board["opponents"] if ref in last)
        best = "-" if board["best_score"] is None else f"{board['best_score']:.2f}"
        print(f"{summary['algo']} on {summary['game']}: {how} at {summary['steps']:,} steps; "
              f"last eval score {last.get('score', '-')} ({rates or 'none'}; wins-draws-losses), "
              f"best {best} (board_evals.csv)")
    elif "board" in summary:  # AlphaZero: generations gated by matches, not a mean return
        board = summary["board"]
        print(f"{summary['algo']} on {summary['game']}: {how} at {summary['steps']:,} self-play "
              f"positions; {board['generation']} generations, best is generation "
              f"{board['best_generation']} (Elo {board['best_elo']:+.0f}; generations.csv)")
    else:
        print(f"{summary['algo']} on {summary['game']}: {how} at {summary['steps']:,} steps; "
              f"eval {summary['final_eval_mean']:.1f} ± {summary['final_eval_ci95']:.1f}, "
              f"best {summary['best_eval_mean']:.1f}")
    print(f"run: {summary['run_dir']}  (arena match {summary['game']} {summary['run_dir']}; "
          f"arena train --resume {summary['run_dir']})")
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Any) -> int:
    from agents.registry import check_game, make_agent
    from agents.evaluate import episode_returns
    from agents.stats import mean_ci95
    from games.registry import resolve_game

    game = resolve_game(args.game)
    if game.players != 1:
        raise UserError(f"eval is for single-player games; '{game.id}' has {game.players} "
                        f"players (use `arena match`)")
    _check_seed_span(args.seed, args.episodes, "episodes")
    agent = make_agent(args.agent, settings.roster_refs(), build_limit=settings.build_limit)
    try:
        check_game(agent, game)
    except UserError:
        agent.close()
        raise
    from arena.progress import CountProgress

    # On stderr: redrawn on a terminal, plain lines every 10 s in a pipe.
    progress = CountProgress(f"eval {args.agent} on {game.id}", args.episodes)
    progress.update(0)
    played: list[float] = []

    def on_episode(done: int, episode_return: float) -> None:
        played.append(episode_return)
        progress.update(done, f"mean return {sum(played) / len(played):.2f}")

    try:
        returns = episode_returns(agent, game, args.episodes, seed=args.seed,
                                  max_moves=settings.max_moves, on_episode=on_episode)
    finally:
        agent.close()
    progress.finish(len(played), f"mean return {sum(played) / max(len(played), 1):.2f}")
    mean, half = mean_ci95(returns)
    ci = None if half == float("inf") else half
    if args.json:
        print(json.dumps({"agent": args.agent, "game": game.id, "episodes": args.episodes,
                          "seed": args.seed, "mean_return": mean, "ci95": ci,
                          "returns": returns}))
        return 0
    ci_text = f" ± {ci:.2f} (95% CI)" if ci is not None else ""
    print(f"{args.agent} on {game.id}: mean return {mean:.2f}{ci_text} over {args.episodes} "
          f"episodes (min {min(returns):g}, max {max(returns):g})")
    return 0


def _cmd_games(args: argparse.Namespace) -> int:
    from games.registry import builtin_games

    games = builtin_games()
    if args.json:
        print(json.dumps([{"id": g.id, "title": g.title, "players": g.players,
                           "search_state": g.has_state, "description": g.description}
                          for g in games]))
        return 0
    width = max(len(g.id) for g in games)
    for g in games:
        print(f"{g.id:<{width}}  {g.players}P  {g.description}")
    print(f"{'gym:<ID>':<{width}}  1P  any gymnasium env, e.g. gym:MountainCar-v0")
    print(f"{'pz:<module>':<{width}}  nP  any PettingZoo AEC env, e.g. pz:pettingzoo.classic.chess_v6")
    return 0


def _cmd_agents(args: argparse.Namespace, settings: Any) -> int:
    from agents.registry import BUILTINS, plugin_names

    rows = [("built-in", b.name, b.description) for b in BUILTINS.values()]
    for name, entry in settings.roster.items():
        ref = entry if isinstance(entry, str) else entry.agent
        desc = "" if isinstance(entry, str) else entry.description
        rows.append(("roster", name, f"{ref}" + (f"  ({desc})" if desc else "")))
    rows += [("plugin", name, "entry point arena.agents") for name in plugin_names()]
    from pathlib import Path

    from arena.tui.catalog import MODELS_DIR, learned_entries

    for entry in learned_entries(MODELS_DIR, "model"):  # shipped models, by path
        path = Path(entry.ref)
        ref = str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else entry.ref
        rows.append(("model", ref, f"shipped: {entry.description}"))
    if args.json:
        print(json.dumps([{"kind": k, "name": n, "description": d} for k, n, d in rows]))
        return 0
    forms = [("file", "path/to/file.py:ClassName", "your own agent class"),
             ("gtp", "gtp:<command line>", "any GTP engine, for Go"),
             ("run", "runs/<run dir>", "a trained run (arena train): its best checkpoint"),
             ("learned", "alphazero:<dir>[,sims=N]", "an AlphaZero network with PUCT search"),
             ("learned", "alphago:<dir>[,sims=N,lambda=L]",
              "an AlphaGo run: SL priors, value net, rollouts")]
    width = max(len(n) for _, n, _ in rows + forms)
    for kind, name, desc in rows + forms:
        print(f"{kind:<8}  {name:<{width}}  {desc}")
    return 0


def _display_names(names: list[str]) -> list[str]:
    if len(set(names)) == len(names):
        return names
    return [f"{n}#{i + 1}" for i, n in enumerate(names)]


def _cmd_match(args: argparse.Namespace, settings: Any) -> int:
    from agents.registry import check_game, make_agent
    from agents.series import run_series
    from tournaments.store import Store
    from games.registry import resolve_game

    game = resolve_game(args.game)
    if len(args.agents) != game.players:
        raise UserError(f"game '{game.id}' is for {game.players} player(s); "
                        f"got {len(args.agents)} agent(s): {' '.join(args.agents)}")
    _check_seed_span(args.seed, args.games, "games")
    roster = settings.roster_refs()
    with _agents_off_stdout(enabled=args.json) as out:  # --json: agents' prints go to stderr
        agents: list[Any] = []
        try:
            for ref in args.agents:
                agents.append(make_agent(ref, roster, build_limit=settings.build_limit))
            for agent in agents:  # before any game: a model of another game is refused
                check_game(agent, game)
        except UserError:
            for agent in agents:
                agent.close()
            raise
        time_per_move = args.time_per_move or settings.time_per_move
        max_moves = args.max_moves or settings.max_moves
        store = Store(settings.store_path)
        shown = _display_names(list(args.agents))
        progress = _Progress(args.games, shown) if sys.stderr.isatty() else None
        try:
            series = run_series(game, agents, list(args.agents), games=args.games, seed=args.seed,
                                time_per_move=time_per_move, max_moves=max_moves,
                                observers=_match_observers(store, game, settings),
                                on_game=progress.update if progress else None,
                                on_void=lambda i, why: print(f"arena: game {i + 1} void, playing "
                                                             f"it again: {why}", file=sys.stderr))
        finally:
            if progress:
                progress.done()
            for agent in agents:
                agent.close()
            store.close()
        if args.json:
            print(json.dumps(series.to_dict()), file=out)
            out.flush()  # inside: a reader that has gone is seen here
            return 0
    _print_series(series, shown, settings)
    return 0


@contextlib.contextmanager
def _agents_off_stdout(enabled: bool = True, binary: bool = False) -> Iterator[Any]:
    """While agents run, fd 1 and sys.stdout are stderr; yields a stream on the real stdout.

    For output a program reads (``--json``, the GTP stream): an in-process agent (or a
    library it calls) that prints cannot corrupt it. Agents in a process of their own
    write to stderr anyway (agents/isolation.py).
    """
    import os

    plain = sys.stdout.buffer if binary and hasattr(sys.stdout, "buffer") else sys.stdout
    if not enabled:
        yield plain
        return
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no file descriptor (a test's capture)
        yield plain
        return
    stream = os.fdopen(saved, "wb") if binary else os.fdopen(saved, "w", encoding="utf-8")
    old = sys.stdout
    os.dup2(2, fd)
    sys.stdout = sys.stderr
    try:
        yield stream
    finally:
        sys.stdout = old
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader has gone: main() says so
            pass
        os.dup2(saved, fd)
        try:
            stream.close()
        except (OSError, ValueError):
            pass


def _cmd_gtp(args: argparse.Namespace, settings: Any) -> int:
    from agents.registry import make_agent
    from arena.gtp import run_gtp

    # The GTP stream is the real stdout; whatever agents print goes to stderr.
    with _agents_off_stdout(binary=True) as out:
        agent = make_agent(args.agent, settings.roster_refs(), build_limit=settings.build_limit)
        try:  # a connect four model is no Go engine, nor a go9 model a go19 one
            _check_gtp_agent(agent, args.agent, args.size)
        except UserError:
            agent.close()
            raise
        # Each genmove is limited: by the controller's clock, else arena.toml's time_per_move.
        return run_gtp(agent, size=args.size, komi=args.komi, seed=args.seed,
                       stdout=out, time_per_move=settings.time_per_move)


def _check_gtp_agent(agent: Any, ref: str, size: int) -> None:
    """UserError unless `agent` can play Go on a `size` board (what `arena gtp` serves)."""
    from agents.registry import check_game
    from games.registry import resolve_game

    try:
        game = resolve_game(f"go{size}")
    except UserError:  # a size Arena has no game id for: only the trained game is checked
        trained = getattr(agent, "trained_on", None)
        if trained and trained != f"go{size}":
            raise UserError(f"agent '{ref}' was trained on {trained}, not go{size} "
                            f"(--size {size})") from None
        return
    try:
        check_game(agent, game, ref)
    except UserError as exc:
        raise UserError(f"{exc} (--size {size})") from None


def _match_observers(store: Any, game: Any, settings: Any) -> list[Any]:
    """The store's writer, then (Go) the SGF writer: it names files by the stored match id."""
    from tournaments.recording import recorders

    return recorders(store, game, settings.data_dir)


class _Progress:
    """A one-line progress display on stderr (terminals only)."""

    def __init__(self, total: int, names: list[str]):
        self.total = total
        self.names = names
        self.start = time.perf_counter()

    def update(self, i: int, result: Any) -> None:
        elapsed = time.perf_counter() - self.start
        rate = (i + 1) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - i - 1) / rate if rate else 0.0
        sys.stderr.write(f"\rgame {i + 1}/{self.total}  {rate:.1f} games/s  ETA {eta:.0f}s   ")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()


def _print_series(series: Any, shown: list[str], settings: Any) -> None:
    results = series.results
    print(f"{series.game}: {len(results)} game(s), seed {series.seed}, {' vs '.join(shown)}")
    if series.single_player:
        data = series.to_dict()
        ci = data["ci95"]
        ci_text = f" ± {ci:.2f} (95% CI)" if ci is not None else ""
        print(f"mean return {data['mean_return']:.2f}{ci_text}, "
              f"min {data['min_return']:.2f}, max {data['max_return']:.2f}")
    else:
        width = max(len(n) for n in shown + ["agent"])
        print(f"{'agent':<{width}}  games  wins  draws  losses  forfeits  resigned   score")
        for name, e in zip(shown, series.entrants):
            print(f"{name:<{width}}  {e.games:>5}  {e.wins:>4}  {e.draws:>5}  {e.losses:>6}  "
                  f"{e.forfeits:>8}  {e.resigned:>8}  {100 * e.score:>5.1f}%")
    _print_capped(results)
    for f in series.forfeits():
        print(f"forfeit in match {f['match_id']}: {f['agent']} {f['reason']}")
    for r in series.resignations():
        said = f" ({r['reason']})" if r["reason"] and r["reason"] != "resigned" else ""
        print(f"resignation in match {r['match_id']}: {r['agent']} resigned{said}")
    ids = [r.match_id for r in results if r.match_id is not None]
    if ids:
        # This command's own games only: other processes may have stored games in between.
        print(f"stored as match{'es' if len(ids) > 1 else ''} {id_ranges(ids)} in "
              f"{settings.store_path} (arena replay ID)")


def id_ranges(ids: list[int]) -> str:
    """Match ids as runs of consecutive numbers: [4, 5, 6, 9, 12, 13] -> '4-6, 9, 12-13'."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    start = prev = ordered[0]
    for i in ordered[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


def _print_capped(results: list[Any]) -> None:
    """One line on the games the move cap stopped: adjudicated by score (Go), else drawn."""
    capped = [r for r in results if r.truncated]
    if not capped or len(capped[0].agents) < 2:
        return
    scored = sum(r.winner is not None for r in capped)
    parts = ([f"{scored} adjudicated by area score with komi"] if scored else []) + (
        [f"{len(capped) - scored} drawn"] if len(capped) > scored else [])
    print(f"move cap reached in {len(capped)} game(s): {', '.join(parts)}")


def _cmd_replay(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.store import Store
    from games.registry import resolve_game

    if not settings.store_path.exists():
        raise UserError(f"no store at {settings.store_path}: no match has been played yet")
    store = Store(settings.store_path)
    try:
        match = store.get_match(args.match_id)
    finally:
        store.close()
    if match is None:
        raise UserError(f"no match with id {args.match_id} in {settings.store_path}")
    try:
        game = resolve_game(match.game)
        state = game.new_state() if game.new_state else None
    except UserError:
        state = None
    symbols = state.symbols() if state is not None else None
    seats = [f"{a} ({symbols[i]})" if symbols and i < len(symbols) else a
             for i, a in enumerate(match.agents)]
    print(f"match {match.id}: {match.game}, {' vs '.join(seats)}, seed {match.seed}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(match.started_at))}")
    for ply, (player, action, label, ms) in enumerate(match.moves):
        who = symbols[player] if symbols and player < len(symbols) else match.agents[player]
        print(f"{ply + 1:>4}. {who} {label:<6} ({ms:.1f} ms)")
        if state is not None:
            state.play(int(action))
    if state is not None and match.moves:
        print(state.render_text(int(match.moves[-1][1])))
    from agents.match import describe_result

    ended = describe_result(match, score=_cap_score(match, state), say_adjudicated=True)
    print(f"result: {ended}")
    if go_size(match.game) is not None:
        from tournaments.recording import sgf_path

        path = sgf_path(settings.data_dir, match.id)
        print(f"sgf: {path}" if path.exists() else f"sgf: none ({path} is missing)")
    return 0


def _cap_score(match: Any, final: Any) -> str | None:
    """The score that decided a Go game stopped by the move cap ("B+3.5"), else None."""
    if not (match.truncated and match.winner is not None and final is not None
            and go_size(match.game) is not None and hasattr(final, "score")):
        return None
    from games.go.sgf import score_text

    return score_text(final.score())


class _BoardPrinter:
    """Prints the board after every move (the demo's view)."""

    def __init__(self, delay: float):
        self.delay = delay

    def on_event(self, event: Any) -> None:
        from agents.match import MatchEnded, MatchStarted, MovePlayed

        if isinstance(event, MatchStarted):
            print(f"{event.game.title}: {' vs '.join(event.agents)}\n")
        elif isinstance(event, MovePlayed):
            state = event.env.unwrapped.state
            who = event.move.player
            print(f"move {event.move.ply + 1}: {state.symbols()[who]} plays {event.move.label}")
            print(state.render_text(event.move.action))
            print()
            if self.delay:
                time.sleep(self.delay)
        elif isinstance(event, MatchEnded):
            r = event.result
            winner = r.agents[r.winner] if r.winner is not None else None
            print(f"{winner} wins." if winner else "A draw.")


def _window_front_end() -> Any:
    """The pygame front end (arena.window); UserError when it cannot be imported."""
    try:
        from arena import window
    except ImportError as exc:
        raise UserError(f"--ui window: the pygame front end is not available ({exc})") from None
    return window


def _check_agents(refs: list[str], settings: Any, game: Any = None) -> None:
    """Build each agent once, so a bad reference (or a model of another game) is reported
    before any screen opens."""
    from agents.registry import check_game, make_agent

    for ref in refs:
        agent = make_agent(ref, settings.roster_refs(), build_limit=settings.build_limit)
        try:
            if game is not None:
                check_game(agent, game)
        finally:
            agent.close()


def _require_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the terminal app needs a terminal on stdin and stdout "
                        "(try --ui window, or `arena match` for plain output)")


def _cmd_watch(args: argparse.Namespace, settings: Any) -> int:
    from games.registry import resolve_game

    game = resolve_game(args.game)
    if len(args.agents) != game.players:
        raise UserError(f"game '{game.id}' is for {game.players} player(s); "
                        f"got {len(args.agents)} agent(s): {' '.join(args.agents)}")
    if args.ui == "window":
        return _window_front_end().watch(game.id, list(args.agents), args.speed,
                                         seed=args.seed, settings=settings)
    _check_agents(list(args.agents), settings, game)
    _require_terminal()
    from arena.tui import StartRequest, run_app

    return run_app(StartRequest("watch", game.id, list(args.agents), speed=args.speed,
                                seed=args.seed), settings)


def _cmd_play(args: argparse.Namespace, settings: Any) -> int:
    from games.registry import resolve_game

    game = resolve_game(args.game)
    first = args.side == "first"
    if args.ui == "window":
        return _window_front_end().play(game.id, args.vs, first, seed=args.seed,
                                        settings=settings)
    if not (game.has_state and game.players == 2):
        raise UserError(f"game '{game.id}' is not a two-player board game; the terminal app "
                        f"plays tictactoe, connect4 and go5..go19 (try --ui window)")
    _check_agents([args.vs], settings, game)
    _require_terminal()
    from arena.tui import StartRequest, run_app

    return run_app(StartRequest("play", game.id, [args.vs], person_first=first, seed=args.seed),
                   settings)


def _cmd_demo(delay: float | None, settings: Any) -> int:
    from agents.registry import make_agent
    from agents.match import play_match
    from games.registry import resolve_game
    from tournaments.recording import recorders
    from tournaments.store import Store

    if delay is None:
        delay = 0.4 if sys.stdout.isatty() else 0.0
    game = resolve_game("connect4")
    refs = ["mcts:sims=400", "greedy"]
    store = Store(settings.store_path)
    try:
        result = play_match(game, [make_agent(r) for r in refs], names=refs, seed=int(time.time()),
                            observers=[_BoardPrinter(delay),
                                       *recorders(store, game, settings.data_dir)])
    finally:
        store.close()
    print(f"stored as match {result.match_id}; `arena replay {result.match_id}` shows it again.")
    return 0
