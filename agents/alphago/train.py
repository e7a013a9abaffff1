"""`arena train alphago GAME`: AlphaGo's four training stages, in order, in one run directory.

1. data: GnuGo self-play games (agents/alphago/data.py), shared between runs
   in ``<data_dir>/datasets/gnugo-<size>-l<level>/`` unless `dataset_dir` says;
2. sl/: the SL policy, trained on GnuGo's moves (agents/alphago/sl.py);
3. rl/: the RL policy, REINFORCE from the SL policy against a pool of its
   snapshots (agents/alphago/rl.py);
4. value/: the value network, one position per RL self-play game
   (agents/alphago/value.py).

The run plays with MCTS (agents/alphago/agent.py): SL priors, value-network
(and optionally rollout) leaf values. ``figures.json`` holds each finished
stage's figures: dataset size and speed, SL held-out accuracy against the
trivial predictors, RL-vs-SL win rate with its 95% interval, value MSE
against the trivial predictor.

The learner's `steps` count work units through the stages: dataset games,
then SL gradient steps, RL iterations, value games and value gradient steps;
the preset's ``total_steps`` is their sum. Each stage saves its own state as
it goes (the dataset game by game), so a killed run resumes in the stage,
and at the step, where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from agents.alphago import data as dataset
from agents.alphago.agent import AlphaGoAgent
from agents.alphago.nets import POLICY, features_for, go_size, load_net
from agents.alphago.rl import RLSettings, RLTrainer, win_rate
from agents.alphago.sl import (
    SLSettings,
    SLTrainer,
    baselines,
    load_positions,
    policy_accuracy,
    split,
)
from agents.alphago.value import ValueSettings, ValueTrainer
from agents.alphazero.network import NetConfig, check_net_size
from agents.base import Agent
from agents.checkpoint import atomic_write_json, read_meta, write_meta
from agents.learner import Learner, TrainHooks, config_from_dict
from games.errors import UserError

FIGURES = "figures.json"


@dataclass
class AlphaGoConfig:
    """Stage sizes and hyperparameters (presets: agents/presets/alphago.yaml)."""

    # 1. dataset
    dataset_games: int = 1000
    dataset_level: int = 1
    dataset_jobs: int = 0  # GnuGo processes; 0 = the cores
    dataset_seed: int = 0
    dataset_dir: str = ""  # "" = <data_dir>/datasets/gnugo-<size>-l<level>
    # networks (the same tower for the policies and the value network)
    history: int = 4  # positions of history in the input planes
    blocks: int = 4
    channels: int = 32
    value_hidden: int = 64
    # 2. SL policy
    sl_steps: int = 1000
    sl_batch: int = 128
    sl_lr: float = 0.001
    weight_decay: float = 0.0001
    holdout_every: int = 10  # every 10th game (or value position) is held out
    # 3. RL policy
    rl_iterations: int = 40
    rl_games: int = 16  # games per iteration, against one opponent from the pool
    rl_lr: float = 0.0001
    snapshot_every: int = 5
    rl_eval_games: int = 100
    max_moves: int = 0  # move cap of self-play games; 0 = 2 * size * size
    # 4. value network
    value_games: int = 2000
    value_batch_games: int = 100
    value_max_u: int = 0  # U is drawn from 0..value_max_u-1; 0 = size * size
    value_steps: int = 1000
    value_batch: int = 128
    value_lr: float = 0.001
    # 5. play
    sims: int = 100
    lam: float = 0.0
    rollouts: int = 1  # fast playouts averaged into each leaf's z when lam > 0
    seed_offset: int = 0

    def net(self) -> NetConfig:
        return NetConfig(blocks=self.blocks, channels=self.channels, value_hidden=self.value_hidden)

    def total(self) -> int:
        return (self.dataset_games + self.sl_steps + self.rl_iterations + self.value_games
                + self.value_steps)


class _Stop(Exception):
    """A hook asked training to stop."""


class AlphaGo(Learner):
    """The four stages as one resumable Learner; plays as AlphaGoAgent."""

    algo: ClassVar[str] = "alphago"
    Config: ClassVar[type] = AlphaGoConfig
    #: Go only; its stages keep their own figures (figures.json): no periodic evaluation.
    trains_single_player: ClassVar[bool] = False
    trains_board_games: ClassVar[bool] = True
    judges_itself: ClassVar[bool] = True

    def __init__(self, game_id: str, config: AlphaGoConfig, device: torch.device, seed: int):
        self.size = go_size(game_id)
        self._check(config)
        self.game_id = game_id
        self.config = config
        self.device = device
        self.seed = seed
        self.features = features_for(game_id, config.history)
        # --set channels=100000: refused here, before any network is built
        check_net_size(self.features.shape, self.features.num_actions, config.net())
        self.steps = 0
        self.run_dir: Path | None = None
        self.data_dir: Path | None = None  # the trainer's (hooks.data_dir), for the dataset
        self.figures: dict[str, Any] = {}

    @staticmethod
    def _check(c: AlphaGoConfig) -> None:
        for name in ("dataset_games", "history", "blocks", "channels", "value_hidden", "sl_batch",
                     "holdout_every", "rl_games", "snapshot_every", "rl_eval_games",
                     "value_batch_games", "value_batch", "sims", "rollouts"):
            if getattr(c, name) < 1:
                raise UserError(f"alphago: {name}={getattr(c, name)} is not at least 1")
        if c.holdout_every < 2:
            raise UserError(f"alphago: holdout_every={c.holdout_every} is not at least 2")
        if not 0.0 <= c.lam <= 1.0:
            raise UserError(f"alphago: lam={c.lam} is outside 0..1")
        if not 0 <= c.dataset_level <= 10:
            raise UserError(f"alphago: dataset_level={c.dataset_level} is outside 0..10")

    # -- where things are -----------------------------------------------------------------

    def dataset_dir(self) -> Path:
        if self.config.dataset_dir:
            return Path(self.config.dataset_dir).expanduser()
        if self.data_dir is None:
            raise UserError("alphago: no dataset_dir, and no data directory from the trainer "
                            "(arena train alphago GAME, or --set dataset_dir=DIR)")
        return dataset.default_out(self.data_dir, self.size, self.config.dataset_level)

    def _max_moves(self) -> int:
        return self.config.max_moves or 2 * self.size * self.size

    def _dataset_count(self) -> int:
        out = self.dataset_dir()
        have = {p.name for p in out.glob("game-*.sgf")} if out.is_dir() else set()
        return sum(1 for i in range(self.config.dataset_games)
                   if dataset.game_path(out, i).name in have)

    def _stage_state(self, stage: str) -> dict[str, Any]:
        assert self.run_dir is not None
        path = self.run_dir / stage / "train_state.json"
        from agents.checkpoint import read_json_object

        return read_json_object(path) if path.is_file() else {}

    def _count_steps(self) -> int:
        """Work done so far, from what is on disk (the stages' own states are the truth)."""
        c = self.config
        sl = min(int(self._stage_state("sl").get("step", 0)), c.sl_steps)
        rl = min(int(self._stage_state("rl").get("iteration", 0)), c.rl_iterations)
        value = self._stage_state("value")
        games = min(int(value.get("games_played", 0)), c.value_games)
        vsteps = min(int(value.get("step", 0)), c.value_steps)
        return self._dataset_count() + sl + rl + games + vsteps

    def _write_figures(self) -> None:
        assert self.run_dir is not None
        atomic_write_json(self.run_dir / FIGURES, self.figures)

    # -- training -------------------------------------------------------------------------

    def train(self, until_step: int, hooks: TrainHooks) -> None:
        """Run the stages in order until `steps` reaches `until_step` or a hook says stop."""
        run_dir = hooks.run_dir or self.run_dir
        self.data_dir = hooks.data_dir
        if run_dir is None:
            raise UserError("alphago: training needs a run directory (arena train alphago GAME)")
        self.run_dir = Path(run_dir)
        if (self.run_dir / FIGURES).is_file():
            from agents.checkpoint import read_json_object

            self.figures = read_json_object(self.run_dir / FIGURES)
        self.steps = self._count_steps()
        self.save(self.run_dir / "last")
        try:
            for stage in (self._stage_data, self._stage_sl, self._stage_rl, self._stage_value):
                if self.steps >= until_step:
                    break
                stage(until_step, hooks)
                self.save(self.run_dir / "last")
        except _Stop:
            pass
        self.steps = self._count_steps()
        self.save(self.run_dir / "last")

    def _tick(self, hooks: TrainHooks, steps: int) -> bool:
        self.steps = steps
        return hooks.tick(steps)

    def _stage_data(self, until_step: int, hooks: TrainHooks) -> None:
        c = self.config
        want = min(c.dataset_games, until_step)
        have = self._dataset_count()
        if have >= want and "dataset" in self.figures:
            return
        out = self.dataset_dir()

        def progress(done: int, total: int, seconds: float) -> None:
            if not self._tick(hooks, have + done):
                raise _Stop

        summary = dataset.generate(out, size=self.size, games=want, level=c.dataset_level,
                                   jobs=c.dataset_jobs or None, seed=c.dataset_seed,
                                   progress=progress)
        if summary["failures"]:
            raise UserError(f"alphago: GnuGo failed in {len(summary['failures'])} games "
                            f"({summary['failures'][0]})")
        self.steps = self._count_steps()
        if self._dataset_count() >= c.dataset_games:
            figures = {"dir": str(out), "games": summary["games"], "moves": summary["moves"],
                       "level": c.dataset_level, "played_now": summary["played"]}
            if summary["played"]:  # a dataset made before this run has no speed to report
                figures.update(seconds=round(summary["seconds"], 1),
                               games_per_s=round(summary["games_per_s"], 3))
            self.figures["dataset"] = figures
            self._write_figures()
            hooks.log(self.steps, {"dataset_games": float(summary["games"])})

    def _sl_trainer(self) -> SLTrainer:
        c = self.config
        settings = SLSettings(c.sl_steps, c.sl_batch, c.sl_lr, c.weight_decay, c.net(), c.history)
        assert self.run_dir is not None
        return SLTrainer(self.run_dir / "sl", self.game_id, self.features, settings, self.device,
                         self.seed)

    def _stage_sl(self, until_step: int, hooks: TrainHooks) -> None:
        c = self.config
        base = c.dataset_games
        trainer = self._sl_trainer()
        if trainer.step >= c.sl_steps and "sl" in self.figures:
            return
        positions = load_positions(self.dataset_dir(), self.features, c.dataset_games)
        train_set, held = split(positions, c.holdout_every)
        if len(held) == 0 or len(train_set) == 0:
            raise UserError(f"alphago: {c.dataset_games} games are too few to hold out every "
                            f"{c.holdout_every}th")
        until = min(c.sl_steps, until_step - base)
        save_every = max(c.sl_steps // 10, 50)

        def tick(step: int, loss: float) -> bool:
            if step % 25 == 0:
                hooks.log(base + step, {"loss": loss, "sl_loss": loss})
            if step % save_every == 0:
                trainer.save()
            return self._tick(hooks, base + step)

        trainer.train(train_set, until, tick)
        trainer.save()
        if trainer.step < c.sl_steps:
            raise _Stop
        figures = {"accuracy": policy_accuracy(trainer.net, held, self.device),
                   "train_accuracy": policy_accuracy(trainer.net, train_set.subset(
                       np.arange(min(len(train_set), len(held)))), self.device),
                   "train_positions": len(train_set), "held_out_positions": len(held),
                   "steps": trainer.step, **{f"baseline_{k}": v
                                             for k, v in baselines(train_set, held).items()}}
        self.figures["sl"] = figures
        trainer.save({"figures": figures})
        self._write_figures()
        hooks.log(base + trainer.step, {"sl_accuracy": figures["accuracy"]})

    def _rl_trainer(self) -> RLTrainer:
        c = self.config
        assert self.run_dir is not None
        sl_net, _, _ = load_net(self.run_dir / "sl", POLICY, self.device)
        settings = RLSettings(c.rl_iterations, c.rl_games, c.rl_lr, c.snapshot_every,
                              self._max_moves(), c.history)
        return RLTrainer(self.run_dir / "rl", self.game_id, self.features, sl_net, settings,
                         self.device, self.seed)

    def _stage_rl(self, until_step: int, hooks: TrainHooks) -> None:
        c = self.config
        base = c.dataset_games + c.sl_steps
        trainer = self._rl_trainer()
        if trainer.iteration >= c.rl_iterations and "rl" in self.figures:
            return
        until = min(c.rl_iterations, until_step - base)

        def tick(iteration: int, row: dict[str, float]) -> bool:
            hooks.log(base + iteration, {"rl_loss": row["loss"], "rl_win_rate": row["win_rate"],
                                         "rl_pool": float(len(trainer.pool))})
            hooks.episode(base + iteration, row["win_rate"], int(row["moves"]))
            return self._tick(hooks, base + iteration)

        trainer.train(until, tick)
        if trainer.iteration < c.rl_iterations:
            raise _Stop
        assert self.run_dir is not None
        sl_net, _, _ = load_net(self.run_dir / "sl", POLICY, self.device)
        figures = win_rate(trainer.net, sl_net, self.features, c.rl_eval_games,
                           np.random.default_rng([self.seed, 5]), self._max_moves(), self.device)
        figures.update(iterations=trainer.iteration, pool=len(trainer.pool))
        self.figures["rl"] = figures
        trainer.save({"figures": figures})
        self._write_figures()
        hooks.log(base + trainer.iteration, {"rl_vs_sl": figures["win_rate"]})

    def _value_trainer(self) -> ValueTrainer:
        c = self.config
        settings = ValueSettings(c.value_games, c.value_batch_games,
                                 c.value_max_u or self.size * self.size, c.value_steps,
                                 c.value_batch, c.value_lr, c.weight_decay, c.holdout_every,
                                 self._max_moves(), c.net(), c.history)
        assert self.run_dir is not None
        return ValueTrainer(self.run_dir / "value", self.game_id, self.features, settings,
                            self.device, self.seed)

    def _stage_value(self, until_step: int, hooks: TrainHooks) -> None:
        c = self.config
        base = c.dataset_games + c.sl_steps + c.rl_iterations
        trainer = self._value_trainer()
        if trainer.step >= c.value_steps and "value" in self.figures:
            return
        assert self.run_dir is not None
        if trainer.games_played < c.value_games:
            rl_net, _, _ = load_net(self.run_dir / "rl", POLICY, self.device)
            trainer.generate(rl_net, min(c.value_games, until_step - base),
                             lambda games: self._tick(hooks, base + games))
            if trainer.games_played < c.value_games:
                raise _Stop
        base += c.value_games
        save_every = max(c.value_steps // 10, 50)

        def tick(step: int, loss: float) -> bool:
            if step % 25 == 0:
                hooks.log(base + step, {"loss": loss, "value_loss": loss})
            if step % save_every == 0:
                trainer.save()
            return self._tick(hooks, base + step)

        trainer.train(min(c.value_steps, until_step - base), tick)
        trainer.save()
        if trainer.step < c.value_steps:
            raise _Stop
        figures = dict(trainer.evaluate(), steps=trainer.step, games=trainer.games_played)
        self.figures["value"] = figures
        trainer.save({"figures": figures})
        self._write_figures()
        hooks.log(base + trainer.step, {"value_mse": figures["mse"]})

    # -- the Learner contract -------------------------------------------------------------

    def agent(self) -> Agent:
        if self.run_dir is None:
            raise UserError("alphago: this learner has no run directory to play from")
        return AlphaGoAgent(str(self.run_dir), sims=self.config.sims, lam=self.config.lam,
                            rollouts=self.config.rollouts, device=str(self.device))

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """meta.json only: the networks live in the run's sl/, rl/ and value/ directories."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_meta(directory, {"algo": self.algo, "game": self.game_id,
                               "config": asdict(self.config), "steps": self.steps,
                               "seed": self.seed, "figures": self.figures,
                               "stages": "../sl ../rl ../value"})

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> AlphaGo:
        directory = Path(directory)
        meta = read_meta(directory)
        if meta.get("algo") != cls.algo:
            raise UserError(f"'{directory}' is a '{meta.get('algo')}' checkpoint, not alphago")
        config = config_from_dict(AlphaGoConfig, meta.get("config", {}), str(directory / "meta.json"))
        from agents.checkpoint import refusing

        with refusing(directory / "meta.json"):  # an unknown game, a network over the limit
            learner = cls(str(meta["game"]), config, device, int(meta.get("seed", 0)))
        learner.run_dir = directory.parent
        learner.figures = dict(meta.get("figures", {}))
        learner.steps = int(meta.get("steps", 0))
        return learner

    def summary(self) -> dict[str, Any]:
        """What `arena train` reports for this run: the figures of the finished stages."""
        return {"figures": self.figures}
