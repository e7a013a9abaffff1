"""`arena train ALGO GAME`: the trainer around every learner.

A run directory holds:

- ``last/``: the latest checkpoint with its training state (what --resume reads);
- ``best/``: the checkpoint with the best evaluation so far (what playing uses);
- ``episodes.csv``: every training episode (step, return, length, seconds);
- ``evals.csv``: every evaluation (step, mean, ci95);
- ``tb/``: TensorBoard logs;
- ``run.json``: algorithm, game, hyperparameters, target steps;
- ``heartbeat.json``: the training process (pid, host), its step, speed and ETA,
  rewritten every few seconds, then its final state (arena/heartbeat.py).

The first Ctrl-C (or a SIGINT from the Training screen) saves a checkpoint and
exits cleanly; a second one aborts. Progress goes to stderr: a line redrawn in
place on a terminal, plain lines every 10 s elsewhere (arena/progress.py).
"""

from __future__ import annotations

import csv
import shutil
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from agents.algorithms import learner_classes, parse_overrides, preset
from agents.checkpoint import (
    atomic_write_json,
    field_game,
    field_int,
    field_mapping,
    field_str,
    read_json_object,
    read_meta,
)
from agents.learner import (Learner, TrainHooks, check_stored_references, config_from_dict,
                            resolve_device)
from games.errors import UserError
from agents.evaluate import BoardEvaluation, evaluate
from arena.heartbeat import HEARTBEAT_NAME, Heartbeat, heartbeat_state, local_pid, read_heartbeat
from arena.progress import ProgressLine, eta_seconds, format_duration, format_eta
from games.registry import GameSpec, resolve_game


class _CsvLog:
    """An append-only CSV file, flushed per row so a kill loses at most one row."""

    def __init__(self, path: Path, header: list[str]):
        new = not path.exists()
        self.file = path.open("a", newline="")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(header)
            self.file.flush()

    def row(self, *values: Any) -> None:
        self.writer.writerow(values)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class Trainer(TrainHooks):
    """Progress, logs, evaluation, best/ and checkpoints for one training run.

    The learner's hooks (agents/learner.py TrainHooks). It evaluates every learner
    that does not judge itself: by returns over seeded episodes on a single-player
    game (evals.csv), by scores against fixed opponents on a board game
    (board_evals.csv; agents/evaluate.py BoardEvaluation), and keeps the best as
    best/. A learner that judges itself (AlphaZero's gate) plays its evaluation games
    through `play_series`, which records them in the store (and Go's SGF files) under
    the run's tag, and says `new_best`.
    """

    def __init__(self, learner: Learner, game: GameSpec, run_dir: Path, until_step: int, *,
                 eval_every: int, eval_episodes: int, checkpoint_every: int,
                 progress: ProgressLine | None = None, tensorboard: bool = True,
                 settings: Any = None):
        self.learner = learner
        self.game = game
        self.run_dir = run_dir
        self.tag = f"{learner.algo}:{run_dir.name}"
        self._settings = settings  # arena.toml's, read when first needed
        self.until_step = until_step
        self.eval_every = eval_every
        self.eval_episodes = eval_episodes
        self.checkpoint_every = checkpoint_every
        self.progress = progress  # None: no progress shown
        self.stop_requested = False
        self.step_now = learner.steps  # the latest step a hook saw (the heartbeat reads it)
        self.recent: deque[float] = deque(maxlen=100)
        self.best = float("-inf")
        best_meta = run_dir / "best" / "meta.json"
        if best_meta.exists():
            self.best = float(read_meta(run_dir / "best").get("eval_mean", float("-inf")))
        self.episodes = _CsvLog(run_dir / "episodes.csv", ["step", "return", "length", "seconds"])
        self.evals = _CsvLog(run_dir / "evals.csv", ["step", "mean", "ci95", "seconds"])
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tb"))
            except ImportError:
                self.tb = None
        self.start_time = time.perf_counter()
        self.start_step = learner.steps
        self.next_eval = (learner.steps // eval_every + 1) * eval_every if eval_every else None
        # On a board game: PPO and DQN are scored against fixed opponents; AlphaZero and
        # AlphaGo judge themselves. Neither has a mean return to evaluate.
        self.board_eval: BoardEvaluation | None = None
        if (not learner.judges_itself and learner.trains_board_games
                and game.make_gym is None):
            self.board_eval = self._board_evaluation()
        self.board_game = learner.judges_itself or self.board_eval is not None
        if self.board_game:
            self.next_eval = None
        self.next_checkpoint = (learner.steps // checkpoint_every + 1) * checkpoint_every
        self.last_loss: float | None = None
        self.eval_history: list[tuple[int, float, float]] = []

    # -- hooks -------------------------------------------------------------
    def episode(self, step: int, episode_return: float, length: int) -> None:
        self.step_now = step
        self.recent.append(float(episode_return))
        self.episodes.row(step, f"{episode_return:.6g}", length,
                          f"{time.perf_counter() - self.start_time:.2f}")
        if self.tb is not None:
            self.tb.add_scalar("episode/return", episode_return, step)
            self.tb.add_scalar("episode/length", length, step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if "loss" in metrics:
            self.last_loss = float(metrics["loss"])
        if self.tb is not None:
            for key, value in metrics.items():
                self.tb.add_scalar(f"train/{key}", value, step)

    def tick(self, step: int) -> bool:
        self.step_now = step
        if self.next_eval is not None and step >= self.next_eval:
            self.evaluate(step)
            self.next_eval += self.eval_every
        if self.board_eval is not None and self.board_eval.due(step):
            self.evaluate_board(step)
        if step >= self.next_checkpoint:
            self.learner.save(self.run_dir / "last", with_train_state=True)
            self.next_checkpoint += self.checkpoint_every
        if self.progress is not None and self.progress.due():
            self.draw(step)
        return not self.stop_requested

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from arena.config import load_settings

            self._settings = load_settings()
        return self._settings

    @property
    def data_dir(self) -> Path:  # type: ignore[override]
        return Path(self.settings.data_dir)

    def play_series(self, game: Any, agents: Any, names: Any, *, games: int, seed: int) -> Any:
        """An evaluation series, every game recorded in the store under the run's tag."""
        from agents.series import run_series
        from tournaments.recording import recorders
        from tournaments.store import Store

        store = Store(self.settings.store_path)
        try:
            observers = recorders(store, game, self.settings.data_dir, tag=self.tag)
            return run_series(game, agents, names, games=games, seed=seed,
                              observers=observers + list(self.observers))
        finally:
            store.close()

    def rate(self, score: float, games: int) -> float:
        from tournaments.ratings import elo_from_score

        return elo_from_score(score, games)

    def new_best(self, step: int) -> None:
        self.learner.save_playable(self.run_dir / "best")

    # -- work --------------------------------------------------------------
    def _board_evaluation(self) -> BoardEvaluation:
        """The board-game evaluation the learner's config asks for, carried on from what
        this run wrote before (board_evals.csv, best/meta.json) when it resumes."""
        evaluation = BoardEvaluation.for_run(self.game.id, self.learner.config)
        history = []
        path = self.run_dir / "board_evals.csv"
        if path.is_file():
            with path.open(newline="") as f:
                try:
                    history = [evaluation.from_csv(r) for r in csv.DictReader(f)]
                except (KeyError, ValueError, TypeError):
                    history = []  # another run's columns: the record starts afresh
        best = read_meta(self.run_dir / "best") if (self.run_dir / "best" / "meta.json").is_file() else {}
        score, at = best.get("eval_score"), best.get("eval_step")
        evaluation.resume(self.learner.steps, history,
                          float(score) if isinstance(score, int | float) else None,
                          int(at) if isinstance(at, int) else None)
        return evaluation

    def evaluate_board(self, step: int) -> dict[str, Any]:
        """Score the current agent against the fixed opponents; keep it as best/ when it
        beats every score before, and add the row to board_evals.csv."""
        assert self.board_eval is not None
        row = self.board_eval.run(self.learner.agent(), step)
        self.log(step, {"eval/score": row["score"]})
        if row["best"]:
            self.learner.save_playable(self.run_dir / "best")
            meta = read_meta(self.run_dir / "best")
            meta.update(eval_score=row["score"], eval_mean=row["score"], eval_step=step,
                        eval_games=self.board_eval.games,
                        eval={k: v for k, v in row.items() if isinstance(v, dict)})
            atomic_write_json(self.run_dir / "best" / "meta.json", meta)
        log = _CsvLog(self.run_dir / "board_evals.csv", self.board_eval.csv_header())
        try:
            log.row(*self.board_eval.csv_row(row))
        finally:
            log.close()
        return row

    def evaluate(self, step: int) -> tuple[float, float]:
        """Evaluate the current policy; keep it as best/ when it beats the best so far."""
        mean, ci = evaluate(self.learner.agent(), self.game, self.eval_episodes)
        self.eval_history.append((step, mean, ci))
        self.evals.row(step, f"{mean:.6g}", f"{ci:.6g}", f"{time.perf_counter() - self.start_time:.2f}")
        if self.tb is not None:
            self.tb.add_scalar("eval/mean_return", mean, step)
        if mean > self.best:
            self.best = mean
            self.learner.save(self.run_dir / "best", with_train_state=False)
            meta_path = self.run_dir / "best" / "meta.json"
            meta = read_meta(self.run_dir / "best")
            meta.update(eval_mean=mean, eval_ci95=ci, eval_step=step,
                        eval_episodes=self.eval_episodes)
            atomic_write_json(meta_path, meta)
        return mean, ci

    def draw(self, step: int, final: bool = False) -> None:
        """Show the progress line (the last one with final=True: the time taken, no ETA)."""
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.start_time
        done = step - self.start_step
        rate = done / elapsed if elapsed > 0 else 0.0
        live = self.progress.live
        recent = sum(self.recent) / len(self.recent) if self.recent else None
        recent_text = (f"{recent:8.1f}" if live else f"{recent:.1f}") if recent is not None else (
            "       -" if live else "-")
        best = f"{self.best:.1f}" if self.best > float("-inf") else "-"
        if final:
            end = f"{'stopped' if self.stop_requested else 'done'} in {format_duration(elapsed)}"
        else:
            end = f"ETA {format_eta(eta_seconds(step, self.until_step, rate))}"
        if live:
            width = 24
            filled = int(width * min(step / max(self.until_step, 1), 1.0))
            line = (f"[{'#' * filled}{'.' * (width - filled)}] {step:>9,}/{self.until_step:,} "
                    f"{rate:7.0f} steps/s  return {recent_text}  best eval {best}  {end} ")
        else:
            percent = min(100.0 * step / max(self.until_step, 1), 100.0)
            line = (f"step {step:,}/{self.until_step:,} ({percent:.0f}%)  {rate:.0f} steps/s  "
                    f"return {recent_text}  best eval {best}  {end}")
        if final:
            self.progress.finish(line)
        else:
            self.progress.show(line)

    def close(self) -> None:
        self.episodes.close()
        self.evals.close()
        if self.tb is not None:
            self.tb.close()


def run_training(algo: str, game_id: str, *, preset_name: str | None = None,
                 steps: int | None = None, seed: int = 0, device: str = "auto",
                 out: Path | None = None, resume: Path | None = None,
                 overrides: list[str] | None = None, eval_every: int | None = None,
                 eval_episodes: int = 20, progress: bool | None = None,
                 runs_dir: Path | None = None, settings: Any = None) -> dict[str, Any]:
    """Train (or resume) a run; returns a summary. Ctrl-C saves and returns early.

    Without `out`, the run directory is made under `runs_dir` (default ./runs).
    `progress`: None or True shows progress on stderr (redrawn on a terminal,
    plain lines elsewhere); False shows none. `settings` (arena.toml's, read when
    first needed) name the store and data directory evaluation games are recorded in.
    """
    torch_device = resolve_device(device)
    if resume is not None and not _has_checkpoint(Path(resume)):
        # Killed before its first checkpoint: start it again, as it was asked for.
        run_dir = Path(resume)
        _refuse_if_running(run_dir, "--resume")
        info = _recorded_settings(run_dir)
        cls, config_cls = learner_classes(info["algo"])
        game = resolve_game(info["game"])
        config = config_from_dict(config_cls, info["config"], f"{run_dir / RUN_JSON}")
        check_stored_references(config, f"{run_dir / RUN_JSON}")
        until = steps if steps is not None else info["total_steps"]
        if "total_steps" in {f.name for f in fields(config)}:
            config = replace(config, total_steps=until)
        eval_every = eval_every or info["eval_every"] or max(until // 20, 1000)
        sys.stderr.write(f"arena: '{run_dir}' has no checkpoint (it stopped before its first); "
                         "starting it from the beginning with its recorded settings\n")
        learner = _start_run(cls, config, game, run_dir, info["seed"], until, eval_every,
                             torch_device)
    elif resume is not None:
        run_dir = Path(resume)
        if not (run_dir / RUN_JSON).is_file():
            raise UserError(f"--resume: '{run_dir}' is not a run directory (no {RUN_JSON})")
        _refuse_if_running(run_dir, "--resume")
        last = run_dir / "last"
        meta = read_meta(last)
        try:
            cls, _ = learner_classes(meta["algo"])
        except UserError as exc:
            raise UserError(f"'{last / 'meta.json'}': field 'algo': {exc}") from None
        game = resolve_game(field_game(meta, last / "meta.json"))
        learner = cls.load(last, torch_device, for_training=True)
        check_stored_references(getattr(learner, "config", None), f"{last / 'meta.json'}")
        run_info = read_json_object(run_dir / RUN_JSON)
        total = field_int(run_info, "total_steps", run_dir / RUN_JSON, minimum=1)
        until = steps if steps is not None else total
        eval_every = eval_every or field_int(run_info, "eval_every", run_dir / RUN_JSON,
                                             minimum=1, default=10_000)
        if until > total:
            _extend_schedules(learner, run_dir, run_info, until)
    else:
        game = resolve_game(game_id)
        cls, config_cls = learner_classes(algo)
        if game.make_gym is None and not cls.trains_board_games:
            raise UserError(f"game '{game.id}' has no single-player gymnasium env to train on "
                            "(board games train with: arena train alphazero GAME)")
        hyper = preset(algo, game.id, preset_name)
        hyper.update(parse_overrides(overrides or []))
        total = hyper.pop("total_steps", 100_000)
        hyper_eval = hyper.pop("eval_every", None)
        where = f"{algo} preset '{preset_name or game.id}'"
        config = config_from_dict(config_cls, hyper, where)
        until = steps if steps is not None else int(total)
        if "total_steps" in {f.name for f in fields(config)}:
            # The learners' schedules (epsilon, learning-rate and clip anneals) end here.
            config = replace(config, total_steps=until)
        eval_every = eval_every or int(hyper_eval or max(until // 20, 1000))
        base = Path(runs_dir) if runs_dir is not None else Path("runs")
        run_dir = Path(out) if out is not None else base / f"{algo}-{game.id}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        if (run_dir / RUN_JSON).exists():
            if _has_checkpoint(run_dir):
                raise UserError(f"--out: '{run_dir}' already holds a run; use --resume to "
                                "continue it")
            _refuse_if_running(run_dir, "--out")  # a run that never got to a checkpoint
        learner = _start_run(cls, config, game, run_dir, seed, until, eval_every, torch_device)
    if learner.steps >= until:
        raise UserError(f"the run is already at {learner.steps} steps (target {until}); "
                        "pass a larger --steps to train on")
    trainer = Trainer(learner, game, run_dir, until, eval_every=eval_every,
                      eval_episodes=eval_episodes, checkpoint_every=max(eval_every, 1000),
                      progress=None if progress is False else ProgressLine(), settings=settings)
    heartbeat = Heartbeat(run_dir, lambda: trainer.step_now, until).start()
    interrupted = _install_sigint(trainer)
    state, error = "crashed", None
    try:
        learner.train(until, trainer)
        board_eval = trainer.board_eval
        if board_eval is not None and not trainer.stop_requested and board_eval.final_due(learner.steps):
            trainer.evaluate_board(learner.steps)
        learner.save(run_dir / "last", with_train_state=True)
        if trainer.board_game:
            final = (None, None)  # the learner's own evaluation: summary["board"]
        elif trainer.eval_history and trainer.eval_history[-1][0] == learner.steps:
            final = trainer.eval_history[-1][1:]
        else:
            final = trainer.evaluate(learner.steps)
        state = "stopped" if trainer.stop_requested or learner.steps < until else "finished"
    except KeyboardInterrupt:
        state = "stopped"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        interrupted()
        trainer.step_now = learner.steps
        trainer.draw(learner.steps, final=True)
        heartbeat.end(state, error)  # after the checkpoint: "stopped" means it is saved
        trainer.close()
    summary = {"run_dir": str(run_dir), "algo": learner.algo, "game": game.id,
               "steps": learner.steps, "stopped_early": trainer.stop_requested,
               "final_eval_mean": final[0], "final_eval_ci95": final[1], "best_eval_mean": trainer.best,
               "evals": [{"step": s, "mean": m, "ci95": c} for s, m, c in trainer.eval_history]}
    if trainer.board_game:
        summary["best_eval_mean"] = None
        summary["board"] = (trainer.board_eval.summary() if trainer.board_eval is not None
                            else learner.summary())
    return summary


#: learners whose epsilon / learning-rate / clip schedules end at config.total_steps
_SCHEDULED = ("dqn", "pg", "a2c", "ppo")


def _extend_schedules(learner: Learner, run_dir: Path, run_info: dict[str, Any],
                      until: int) -> None:
    """A resumed run trained past its planned length: stretch the schedules to the new end.

    Otherwise a learning rate that annealed to 0 at the old end would stay 0 and the
    extra steps would learn nothing. The schedules continue from where the new span puts
    the current step (a linear anneal rises back to lr * (1 - step / until)).
    """
    config = getattr(learner, "config", None)
    if learner.algo in _SCHEDULED and config is not None and hasattr(config, "total_steps"):
        learner.config = replace(config, total_steps=until)  # type: ignore[attr-defined]
        run_info = {**run_info, "total_steps": until, "config": asdict(learner.config)}
    else:
        run_info = {**run_info, "total_steps": until}
    atomic_write_json(run_dir / "run.json", run_info)


RUN_JSON = "run.json"
#: What a run writes into its directory (the trainer and the learners): a run that
#: starts again from nothing removes these first, so nothing half-written is kept.
RUN_OUTPUTS = (RUN_JSON, HEARTBEAT_NAME, "episodes.csv", "evals.csv", "board_evals.csv",
               "generations.csv", "figures.json", "tb", "best", "last")


def _has_checkpoint(run_dir: Path) -> bool:
    """True when the run has saved a checkpoint with its training state (last/)."""
    return (run_dir / "last" / "meta.json").is_file()


def _refuse_if_running(run_dir: Path, option: str) -> None:
    """UserError when a live process is training in `run_dir` now (its heartbeat says
    so); a heartbeat left by a killed run does not count."""
    beat = read_heartbeat(run_dir)
    if beat is None:
        return
    state = heartbeat_state(beat)
    pid = local_pid(beat)
    if state == "running" or (state == "not responding" and pid is not None):
        who = f"pid {pid}" if pid is not None else f"pid {beat.get('pid')} on {beat.get('host')}"
        raise UserError(f"{option}: '{run_dir}' is being trained right now ({who}); "
                        "stop that run first")


def _recorded_settings(run_dir: Path) -> dict[str, Any]:
    """run.json of a run that has no checkpoint, every field checked; UserError naming the
    file (or saying the directory holds no run)."""
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise UserError(f"--resume: '{run_dir}' is not a run directory (no {RUN_JSON}, "
                        "no last/ checkpoint)")
    info = read_json_object(path)
    algo = field_str(info, "algo", path)
    try:
        learner_classes(algo)
    except UserError as exc:
        raise UserError(f"'{path}': field 'algo': {exc}") from None
    return {"algo": algo, "game": field_game(info, path),
            "seed": field_int(info, "seed", path),
            "total_steps": field_int(info, "total_steps", path, minimum=1),
            "eval_every": None if info.get("eval_every") is None
            else field_int(info, "eval_every", path, minimum=1),
            "config": field_mapping(info, "config", path)}


def _start_run(cls: Any, config: Any, game: GameSpec, run_dir: Path, seed: int, until: int,
               eval_every: int, torch_device: Any) -> Learner:
    """A new learner in `run_dir`, which holds no checkpoint: whatever an earlier start
    there left (logs, a half-written last/, a dead heartbeat) is removed, then run.json
    records the settings (so --resume can start it again if it is killed this early).
    Only a directory that holds a run (run.json) is cleared: --out may name any folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / RUN_JSON).is_file():
        for name in RUN_OUTPUTS:  # run.json stays until the new one replaces it
            if name == RUN_JSON:
                continue
            path = run_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    learner = cls(game.id, config, torch_device, seed)
    atomic_write_json(run_dir / RUN_JSON, {
        "algo": cls.algo, "game": game.id, "seed": seed, "total_steps": until,
        "eval_every": eval_every, "config": asdict(config), "device": str(torch_device),
    })
    return learner


def _install_sigint(trainer: Trainer):
    """First Ctrl-C asks the learner to stop at the next tick; a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.stop_requested = True
        live = trainer.progress is not None and trainer.progress.live
        sys.stderr.write(("\n" if live else "")
                         + "stopping: saving a checkpoint (Ctrl-C again to abort)\n")
        sys.stderr.flush()

    old = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, old)
