"""AlphaZero training: self-play, a replay window, gradient steps, gated evaluation.

One generation of `AlphaZero.train`:

1. self-play: `games_per_generation` games with the current best net, `parallel`
   at a time in lockstep (selfplay.play_games: one batched forward pass per step);
2. the replay window: the newest `window` positions (planes, visit
   distributions, results), each drawn later under a random symmetry of the game
   (8 for Go and tic-tac-toe, the mirror for connect four: features.symmetries);
3. `train_steps` AdamW steps on the candidate net, on the loss (in plain view in
   `AlphaZero._train_step`)

       loss = cross_entropy(visit distribution, policy logits) + (z - v)^2

   with the L2 term of AlphaGo Zero applied as AdamW's weight decay;
4. a checkpoint (the run's last/, when the trainer names a run directory);
5. evaluation: the candidate plays `eval_games` against the best net and
   becomes the best when it scores at least `gate_threshold`; it also plays
   `ref_games` against each fixed reference (`references`: plain UCT `mcts`,
   `greedy`, `gnugo` for Go when GNU Go is installed);
6. the generation's Elo (best's Elo plus the Elo difference the trainer's
   `hooks.rate` reads from the score against the best) and scores go to the run's
   generations.csv. Every evaluation game is played through `hooks.play_series`:
   the trainer records it in the store under the tag alphazero:<run dir name>,
   and writes best/ when told `hooks.new_best`.

"Steps" of this learner are self-play positions (moves played). The trainer's
hooks hear: `episode` per self-play game (the first player's result), `log`
per generation (losses, scores), `tick` after each batch of `parallel` games
(returning False stops at once; the partly played generation resumes later).
"""

from __future__ import annotations

import copy
import csv
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphazero.agent import AlphaZeroAgent
from agents.alphazero.evaluators import TorchEvaluator
from games.features import GameFeatures, game_features
from games.registry import go_size
from agents.alphazero.puct import SearchConfig
from agents.alphazero.network import (NetConfig, PolicyValueNet, check_net_size, default_net,
                                      load_net, save_net)
from agents.alphazero.selfplay import GameRecord, SelfPlayConfig, SelfPlayStats, play_games
from agents.base import Agent, ThinkingClock
from agents.checkpoint import (
    TRAIN_STATE,
    atomic_save_tensors,
    load_tensors,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_meta,
    read_train_state,
)
from agents.learner import Learner, TrainHooks, config_from_dict
from agents.replay import ReplayWindow
from games.errors import UserError

WINDOW = "window.safetensors"


@dataclass
class AlphaZeroConfig:
    """Hyperparameters of an AlphaZero run (agents/presets/alphazero.yaml sets them per game).

    blocks/channels/value_hidden of 0 take the game's default network (network.DEFAULT_NETS).
    """

    # the network
    blocks: int = 0
    channels: int = 0
    value_hidden: int = 0
    # self-play
    sims: int = 100  # simulations per self-play move
    parallel: int = 64  # games in lockstep
    leaves_per_game: int = 1
    c_init: float = 1.25
    alpha_scale: float = 10.0  # Dirichlet alpha = alpha_scale / legal moves
    temperature_moves: int = 30  # moves sampled by visit count; greedy after
    resign_threshold: float = -1.0  # resign below this value; -1 or less never resigns
    no_resign_share: float = 0.1
    games_per_generation: int = 128
    # learning
    window: int = 100_000  # replay window, in positions
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4  # AdamW's decoupled weight decay (AlphaGo Zero's L2 term)
    train_steps: int = 500  # gradient steps per generation
    # evaluation
    eval_games: int = 20  # candidate vs best, colours alternating
    eval_sims: int = 50
    eval_random_moves: int = 2  # opening moves sampled by visits, so evaluation games differ
    gate_threshold: float = 0.55
    references: str = "mcts,greedy"  # comma-separated; gnugo only for Go, only when installed
    ref_games: int = 10  # per reference
    ref_mcts_sims: int = 200
    play_sims: int = 100  # simulations of the agent() a run plays with

    def net(self, game_id: str) -> NetConfig:
        """The NetConfig: the game's default with any non-zero field of this config."""
        base = default_net(game_id)
        return NetConfig(blocks=self.blocks or base.blocks, channels=self.channels or base.channels,
                         value_hidden=self.value_hidden or base.value_hidden)


class _NetAgent(AlphaZeroAgent):
    """An AlphaZeroAgent around a network in memory (no checkpoint directory).

    It sets exactly the attributes AlphaZeroAgent.__init__ sets, then plays
    the same way, except that its first `random_moves` moves are sampled by
    visit count (evaluation needs games that differ; play uses 0).
    """

    def __init__(self, net: PolicyValueNet, features: GameFeatures, sims: int, *,
                 c_init: float = 1.25, batch: int = 1, random_moves: int = 0,
                 checkpoint: Path | None = None, meta: dict[str, Any] | None = None) -> None:
        self.checkpoint = checkpoint or Path("<memory>")
        self.features = features
        self.meta = meta or {}
        self.evaluator = TorchEvaluator(net, features, next(net.parameters()).device)
        self.sims = sims
        self.batch = batch
        self.search_config = SearchConfig(sims=sims, c_init=c_init, temperature_moves=random_moves)
        self.clock = ThinkingClock()
        self.tree = None
        self._searched = None
        self._ply = 0

    def reset(self) -> None:
        super().reset()
        self._ply = 0

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        if self.search_config.temperature_moves <= 0:
            return super().act(observation, action_mask)
        from agents.alphazero.puct import MCTS

        if self.tree is None:
            self.tree = MCTS(self.state, self.search_config, self.rng)
        self.tree.search(self.evaluator, self.sims, batch=self.batch,
                         deadline=self.clock.deadline())
        self._searched = self.tree.root
        return self.tree.choose(move_number=self._ply)

    def observe(self, player: int, action: Any) -> None:
        super().observe(player, action)
        self._ply += 1


class AlphaZero(Learner):
    """AlphaZero on a built-in board game (tictactoe, connect4, go5..go19)."""

    algo: ClassVar[str] = "alphazero"
    Config: ClassVar[type] = AlphaZeroConfig
    #: Board games only; it judges its own networks by its gate (see `train`).
    trains_single_player: ClassVar[bool] = False
    trains_board_games: ClassVar[bool] = True
    judges_itself: ClassVar[bool] = True

    def __init__(self, game_id: str, config: AlphaZeroConfig, device: torch.device, seed: int):
        from games.registry import resolve_game

        self.game_id = game_id
        self.game = resolve_game(game_id)
        self.features = game_features(game_id)  # UserError for games AlphaZero cannot play
        self.config = config
        self.device = torch.device(device)
        self.seed = seed
        torch.manual_seed(seed)
        self.net = PolicyValueNet.for_game(self.features, config.net(game_id)).to(self.device)
        self.best = copy.deepcopy(self.net).eval()
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self.rng = np.random.default_rng(seed)
        self.window = ReplayWindow(config.window, self.features.shape, self.features.num_actions)
        self.steps = 0  # self-play positions
        self.generation = 0  # generations finished (0: none; the first best is the initial net)
        self.gen_games = 0  # games of the current generation played so far
        self.best_generation = 0
        self.best_elo = 0.0
        self.history: list[dict[str, Any]] = []  # one row per finished generation
        self.selfplay_stats = SelfPlayStats()
        self.train_seconds = 0.0  # wall time inside train(), summed over resumed sessions
        self._clock: float | None = None  # when the current train() call began

    def training_seconds(self) -> float:
        """Wall time spent in train() so far, the current call included."""
        running = time.perf_counter() - self._clock if self._clock is not None else 0.0
        return self.train_seconds + running

    # -- the loop ----------------------------------------------------------------------------

    def train(self, until_step: int, hooks: TrainHooks) -> None:
        """Generations until `steps` reaches `until_step` or a hook says stop.

        When `hooks` has a `run_dir` (the trainer's), each generation writes last/
        and generations.csv there, and says `hooks.new_best` when the candidate is
        accepted (the trainer writes best/).
        """
        self._clock = time.perf_counter()
        try:
            self._train(until_step, hooks)
        finally:
            self.train_seconds = self.training_seconds()
            self._clock = None

    def _train(self, until_step: int, hooks: TrainHooks) -> None:
        run_dir = hooks.run_dir
        if self.generation == 0:
            hooks.new_best(self.steps)  # the initial net is the best until a candidate beats it
        while self.steps < until_step:
            if not self._self_play(until_step, hooks):
                return
            t0 = time.perf_counter()
            losses = self._learn()
            learn_s = time.perf_counter() - t0
            self.generation += 1
            self.gen_games = 0
            if run_dir is not None:
                self.save(Path(run_dir) / "last", with_train_state=True)
            row = self._evaluate(hooks)
            row.update(losses, learn_s=round(learn_s, 2))
            self.history.append(row)
            if run_dir is not None:
                if row["accepted"]:
                    hooks.new_best(self.steps)
                self._write_generation(Path(run_dir), row)
                # The checkpoint again: best and Elo have changed.
                self.save(Path(run_dir) / "last", with_train_state=True)
            hooks.log(self.steps, {k: float(v) for k, v in row.items()
                                   if isinstance(v, int | float) and not isinstance(v, bool)})
            if not hooks.tick(self.steps):
                return

    def _self_play(self, until_step: int, hooks: TrainHooks) -> bool:
        """Play the rest of this generation's games, `parallel` at a time; False when told to stop."""
        cfg = self.config
        search = SearchConfig(sims=cfg.sims, c_init=cfg.c_init, root_noise=True,
                              alpha_scale=cfg.alpha_scale, temperature_moves=cfg.temperature_moves,
                              resign_threshold=cfg.resign_threshold if cfg.resign_threshold > -1 else None,
                              no_resign_share=cfg.no_resign_share)
        evaluator = TorchEvaluator(self.best, self.features, self.device)

        def on_game(record: GameRecord) -> None:
            self.window.add(*record.samples())
            self.steps += len(record.moves)
            self.gen_games += 1
            hooks.episode(self.steps, record.returns[0], len(record.moves))

        while self.gen_games < cfg.games_per_generation:
            n = min(cfg.parallel, cfg.games_per_generation - self.gen_games)
            play_games(self.game.new_state, self.features, evaluator, n,
                       SelfPlayConfig(parallel=n, leaves_per_game=cfg.leaves_per_game, search=search),
                       rng=np.random.default_rng(self.rng.integers(2**63)), on_game=on_game,
                       stats=self.selfplay_stats)
            # The target may fall inside this generation: it is finished anyway, so
            # that a run always ends on a trained, evaluated generation.
            if not hooks.tick(self.steps):
                return False
        return True

    def _learn(self) -> dict[str, float]:
        """`train_steps` gradient steps on the window; the mean losses."""
        totals = {"loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0}
        self.net.train()
        for _ in range(self.config.train_steps):
            for key, value in self._train_step().items():
                totals[key] += value
        self.net.eval()
        return {k: v / max(self.config.train_steps, 1) for k, v in totals.items()}

    def _train_step(self) -> dict[str, float]:
        planes, policies, values = self.window.sample(self.config.batch_size, self.rng, self.features)
        x = torch.from_numpy(planes).to(self.device)
        pi = torch.from_numpy(policies).to(self.device)
        z = torch.from_numpy(values).to(self.device)
        logits, v = self.net(x)
        # The AlphaZero loss: policy cross-entropy against the search's visit
        # distribution plus the value's squared error against the game result z.
        policy_loss = -(pi * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
        value_loss = ((z - v) ** 2).mean()
        loss = policy_loss + value_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "policy_loss": policy_loss.item(), "value_loss": value_loss.item()}

    # -- evaluation ----------------------------------------------------------------------------

    def _eval_agent(self, net: PolicyValueNet) -> _NetAgent:
        cfg = self.config
        return _NetAgent(copy.deepcopy(net).eval(), self.features, cfg.eval_sims, c_init=cfg.c_init,
                         random_moves=cfg.eval_random_moves)

    def _evaluate(self, hooks: TrainHooks) -> dict[str, Any]:
        """Candidate vs best (the gate) and vs each reference; the generation's row."""
        from agents.registry import make_agent

        cfg = self.config
        t0 = time.perf_counter()
        name = hooks.tag or "alphazero"
        gen = self.generation
        row: dict[str, Any] = {"gen": gen, "steps": self.steps}
        candidate = self._eval_agent(self.net)
        score = 0.5
        if cfg.eval_games > 0:
            series = hooks.play_series(self.game, [candidate, self._eval_agent(self.best)],
                                       [f"{name}:gen{gen}", f"{name}:gen{self.best_generation}"],
                                       games=cfg.eval_games, seed=gen * 100_003)
            score = series.entrants[0].score
        accepted = cfg.eval_games == 0 or score >= cfg.gate_threshold
        elo = self.best_elo + (hooks.rate(score, cfg.eval_games) or 0.0)
        row.update(score_vs_best=round(score, 4), accepted=accepted, elo=round(elo, 1))
        if accepted:
            self.best = copy.deepcopy(self.net).eval()
            self.best_generation, self.best_elo = gen, elo
        row["best_gen"] = self.best_generation
        refs: dict[str, float] = {}
        for ref in self._references():
            opponent = make_agent(f"mcts:sims={cfg.ref_mcts_sims}" if ref == "mcts" else ref)
            try:
                series = hooks.play_series(self.game, [candidate, opponent],
                                           [f"{name}:gen{gen}", opponent.name],
                                           games=cfg.ref_games, seed=gen * 100_003 + 50_000)
            finally:
                opponent.close()
            refs[ref] = series.entrants[0].score
            row[f"score_vs_{ref}"] = round(refs[ref], 4)
        row["refs"] = " ".join(f"{k}:{v:.2f}" for k, v in refs.items())
        row["eval_s"] = round(time.perf_counter() - t0, 2)
        return row

    def _references(self) -> list[str]:
        refs = [r.strip() for r in self.config.references.split(",") if r.strip()]
        if self.config.ref_games <= 0:
            return []
        out = []
        for ref in refs:
            if ref.startswith("gnugo") and (go_size(self.game_id) is None or shutil.which("gnugo") is None):
                continue  # GNU Go plays only Go, and only where it is installed
            out.append(ref)
        return out

    def _write_generation(self, run_dir: Path, row: dict[str, Any]) -> None:
        path = run_dir / "generations.csv"
        header = ["gen", "steps", "loss", "policy_loss", "value_loss", "score_vs_best", "accepted",
                  "elo", "best_gen", "refs", "learn_s", "eval_s"]
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(header)
            writer.writerow([f"{row[k]:.4f}" if k.endswith("loss") else row.get(k, "")
                             for k in header])

    # -- playing -------------------------------------------------------------------------------

    def agent(self) -> Agent:
        """An AlphaZeroAgent with a snapshot of the best net, `play_sims` simulations, no randomness."""
        return _NetAgent(copy.deepcopy(self.best).eval(), self.features, self.config.play_sims,
                         c_init=self.config.c_init,
                         meta={"algo": self.algo, "game": self.game_id, "generation": self.best_generation})

    # -- checkpoints -----------------------------------------------------------------------------

    def _meta(self, with_train_state: bool, **extra: Any) -> dict[str, Any]:
        return {"game": self.game_id, "config": asdict(self.config), "steps": self.steps,
                "seed": self.seed, "generation": self.generation, "best_generation": self.best_generation,
                "elo": self.best_elo, "train_state": with_train_state,
                "train_seconds": round(self.training_seconds(), 1), **extra}

    def save_playable(self, directory: Path) -> None:
        """best/: the accepted net as the playable model (no train state)."""
        save_net(directory, self.best, self.game_id, self._meta(False, role="best"))

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """model.safetensors = the candidate net; with train state also the best net, the
        optimizer, the replay window (window.safetensors), counters and the RNG; meta.json last."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        train_state = None
        if with_train_state:
            atomic_save_tensors(directory / WINDOW, self.window.tensors())
            tensors = {f"best.{k}": v for k, v in self.best.state_dict().items()}
            opt_tensors, opt_rest = optimizer_to_tensors(self.optimizer)
            tensors.update(opt_tensors)
            train_state = (tensors, {
                "steps": self.steps, "generation": self.generation, "gen_games": self.gen_games,
                "best_generation": self.best_generation, "best_elo": self.best_elo,
                "window_pos": self.window.saved_pos, "optimizer": opt_rest,
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state().tolist(),
                "history": self.history, "train_seconds": self.training_seconds(),
            })
        save_net(directory, self.net, self.game_id, self._meta(with_train_state), train_state)

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> AlphaZero:
        """An AlphaZero from last/ or best/ (or any save_net checkpoint).

        With `for_training`, the best net, optimizer, window, counters and RNG
        are restored exactly; UserError when the checkpoint has no train state.
        """
        directory = Path(directory)
        meta = read_meta(directory)
        if meta.get("algo") != cls.algo:
            raise UserError(f"'{directory}' is a '{meta.get('algo')}' checkpoint, not 'alphazero'")
        where = str(directory / "meta.json")
        net_cfg = meta.get("net", {})
        values = dict(meta.get("config", {}))
        # A bare save_net checkpoint has no config: rebuild one around its net.
        values.update({k: net_cfg[k] for k in ("blocks", "channels", "value_hidden") if k in net_cfg})
        config = config_from_dict(AlphaZeroConfig, values, where)
        from agents.checkpoint import field_game, refusing

        game_id = field_game(meta, directory / "meta.json")
        with refusing(directory / "meta.json"):  # a network over the limit: before it is built
            check_net_size(game_features(game_id).shape, game_features(game_id).num_actions,
                           config.net(game_id))
        self = cls(game_id, config, torch.device(device), int(meta.get("seed", 0)))
        net, _, _ = load_net(directory, device)
        self.net.load_state_dict(net.state_dict())
        self.best.load_state_dict(net.state_dict())
        self.steps = int(meta.get("steps", 0))
        self.generation = int(meta.get("generation", 0))
        self.best_generation = int(meta.get("best_generation", self.generation))
        self.best_elo = float(meta.get("elo", 0.0))
        has_state = bool(meta.get("train_state")) and (directory / TRAIN_STATE).is_file()
        if not has_state:
            if for_training:
                raise UserError(f"'{directory}' was saved without train state; it can play "
                                "but not resume training")
            return self
        if not for_training:  # the best net is in the training state
            tensors = load_tensors(directory / TRAIN_STATE, device)
            self.best.load_state_dict(_best(tensors))
            return self
        tensors, state = read_train_state(directory, device, counters=(
            "steps", "generation", "gen_games", "best_generation", "window_pos"))
        self.best.load_state_dict(_best(tensors))
        optimizer_from_tensors(self.optimizer, tensors, state["optimizer"])
        self.window.restore(load_tensors(directory / WINDOW), int(state["window_pos"]),
                            directory / WINDOW)
        self.steps, self.generation = int(state["steps"]), int(state["generation"])
        self.gen_games = int(state["gen_games"])
        self.best_generation, self.best_elo = int(state["best_generation"]), float(state["best_elo"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        self.history = list(state.get("history", []))
        self.train_seconds = float(state.get("train_seconds", meta.get("train_seconds", 0.0)))
        return self

    def summary(self) -> dict[str, Any]:
        """What arena/train.py reports for the run instead of a mean return."""
        return {"generation": self.generation, "best_generation": self.best_generation,
                "best_elo": self.best_elo, "generations": self.history}



def _best(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The best net's weights among a training state's tensors ("best.<name>")."""
    return {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}
