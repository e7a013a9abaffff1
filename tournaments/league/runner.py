"""The self-play league: train the main learners, freeze snapshots, rate them, round by round.

One round of `run_league`:

1. **Train** each main learner for `steps_per_round` of its own steps
   (AlphaZero: self-play positions; PPO/DQN on a board game: env steps against
   opponents the league hands it). The learner's full training state lives in
   ``<data_dir>/leagues/<name>/learners/<learner>/``, written to a temporary
   directory and swapped in, so a kill at any moment leaves a whole checkpoint.
2. **Freeze** a snapshot (every `snapshot_every` rounds): a checkpoint directory
   ``snapshots/<learner>-r<round>/`` that loads as an agent like any run.
3. **Plan** the snapshot's `games_per_round` evaluation games, in pairs with
   colours swapped. Each pair's opponent is drawn by *prioritized fictitious
   self-play* (PFSP) from the fixed references and the newest `pool_size`
   earlier snapshots: the opponent the snapshot beats with probability p
   weighs ``f(p)``:

   - ``hard``:      f(p) = (1 - p)^k  (mostly the opponents it still loses to);
   - ``variance``:  f(p) = p (1 - p)  (the opponents of its own level);
   - ``linear``:    f(p) = 1 - p.

   p is the logistic Elo expectation from the latest ratings; a new snapshot
   has none yet, so it is taken to be as strong as its learner's previous
   snapshot (the anchor's 0 for the first). The draws use a generator seeded by
   (seed, round, learner), and the plan is stored with the snapshot in one
   transaction: nothing about a round's games changes after that.
4. **Play** the planned games on the tournament backend's process pool. Each
   finished game is committed at once with its planned game marked done, so a
   rerun after a crash plays exactly the games still planned.
5. **Rate** everyone: Bradley-Terry Elo with 95% intervals (tournaments/ratings.py)
   over all the league's games so far, the anchor reference (default: the
   first) at 0, stored as one ratings-history row per player for the round.

A round is finished when its ratings are stored; `run_league` skips finished
rounds and picks up an unfinished one at its first missing step.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from agents.learner import TrainHooks
from games.errors import UserError
from tournaments.league import records
from tournaments.league.records import LeagueGame, LeagueRecord, Player, RatingRow
from tournaments.league.spec import LeagueSpec, LearnerSpec, check_league
from tournaments.lock import TournamentLock
from tournaments.ratings import expected_score, fit_elo
from tournaments.store import Store

#: Seconds between progress lines while a learner trains or games are played.
PROGRESS_EVERY_S = 5.0
#: A voided evaluation game (harness failure) is played at most this often.
MAX_ATTEMPTS = 3


# -- PFSP --------------------------------------------------------------------------------------


def pfsp_weight(p: float, weighting: str, exponent: float = 2.0) -> float:
    """The PFSP weight of an opponent beaten with probability `p` (see the module docstring)."""
    p = min(max(p, 0.0), 1.0)
    if weighting == "hard":
        return (1.0 - p) ** exponent
    if weighting == "variance":
        return p * (1.0 - p)
    if weighting == "linear":
        return 1.0 - p
    raise ValueError(f"unknown PFSP weighting '{weighting}'")


def pfsp_distribution(rating: float, opponents: dict[str, float], weighting: str,
                      exponent: float = 2.0) -> dict[str, float]:
    """Probabilities of drawing each opponent (name -> Elo) for a player rated `rating`.

    Weights that are all zero (the player is certain to beat everyone) fall
    back to uniform, so there is always an opponent to draw.
    """
    weights = {name: pfsp_weight(expected_score(rating - elo), weighting, exponent)
               for name, elo in opponents.items()}
    total = sum(weights.values())
    if total <= 0:
        return {name: 1.0 / len(opponents) for name in opponents}
    return {name: w / total for name, w in weights.items()}


def pfsp_sampler(distribution: dict[str, float],
                 make: Callable[[str], Any]) -> Callable[[Any], Any]:
    """An opponent sampler for `learner.set_opponent_sampler`: ``fn(rng)`` draws a name from
    `distribution` with the numpy Generator (or random.Random) `rng` and returns `make(name)`."""
    names = list(distribution)
    probs = np.array([distribution[n] for n in names], dtype=float)
    probs = probs / probs.sum()

    def sample(rng: Any) -> Any:
        if hasattr(rng, "integers"):  # a numpy Generator
            pick = names[int(rng.choice(len(names), p=probs))]
        else:  # a random.Random
            pick = rng.choices(names, weights=list(probs))[0]
        return make(pick)

    return sample


# -- paths and locks -------------------------------------------------------------------------


def league_dir(data_dir: Path, name: str) -> Path:
    """Where league `name` keeps its learners' checkpoints and snapshots."""
    return Path(data_dir) / "leagues" / name


class LeagueLock(TournamentLock):
    """One runner per league: the tournament lock on ``<league dir>/league.lock``."""

    def __init__(self, data_dir: Path, name: str):
        super().__init__(data_dir, name)
        self.path = league_dir(data_dir, name) / "league.lock"

    def acquire(self) -> None:
        try:
            super().acquire()
        except UserError as exc:
            raise UserError(str(exc).replace(f"tournament '{self.name}'",
                                             f"league '{self.name}'", 1)) from None


def snapshot_name(learner: str, round_index: int) -> str:
    """The name of the snapshot `learner` froze in 0-based round `round_index` (r1, r2, ...)."""
    return f"{learner}-r{round_index + 1}"


# -- learners --------------------------------------------------------------------------------


def learner_config(spec: LeagueSpec, learner: LearnerSpec) -> Any:
    """The learner's hyperparameters: its preset, its `set` overrides, league defaults.

    Schedules that end at `total_steps` end at the league's last round. An
    AlphaZero learner's own gate and reference games default to off: every
    generation is accepted and the league's evaluation games rate it instead.
    """
    from dataclasses import fields, replace

    from agents.algorithms import algo_name, learner_classes, preset
    from agents.learner import config_from_dict

    values = preset(learner.algo, spec.game, learner.preset)
    values.pop("total_steps", None)
    values.pop("eval_every", None)
    if algo_name(learner.algo) == "alphazero":
        values.update(eval_games=0, ref_games=0)  # unless `set` asks for them
    values.update(learner.overrides)
    _, config_cls = learner_classes(learner.algo)
    config = config_from_dict(config_cls, values, f"league '{spec.name}' learner '{learner.name}'")
    if "total_steps" in {f.name for f in fields(config)}:
        config = replace(config, total_steps=spec.rounds * spec.steps_per_round)
    return config


def _complete(directory: Path) -> bool:
    return (directory / "meta.json").is_file()


def state_dir(directory: Path) -> Path | None:
    """The learner's checkpoint: the directory, else the one a swap left as `.old`."""
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if _complete(candidate):
            return candidate
    return None


def save_swapped(save: Callable[[Path], None], directory: Path) -> None:
    """Write a checkpoint with `save(tmp)`, then swap it in for `directory` by renames.

    At every moment either `directory` or `directory.old` holds a whole checkpoint.
    """
    tmp = directory.with_name(directory.name + ".tmp")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp)
    if directory.exists():
        if _complete(directory):
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
        else:
            shutil.rmtree(directory)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


# -- progress --------------------------------------------------------------------------------


class _Say:
    """Progress lines on a stream (stderr by default), rate-limited for repeated updates."""

    def __init__(self, stream: TextIO | None, every_s: float = PROGRESS_EVERY_S):
        self.stream = stream
        self.every_s = every_s
        self._last = 0.0

    def __call__(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def every(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self(text)


class _TrainProgress(TrainHooks):
    """TrainHooks that report a learner's steps every few seconds. No run directory:
    the league keeps the learner's checkpoint and rates its snapshots itself."""

    def __init__(self, say: _Say, label: str, start: int, until: int):
        self.say, self.label, self.start, self.until = say, label, start, until
        self.t0 = time.perf_counter()

    def episode(self, step: int, episode_return: float, length: int) -> None:
        self.tick(step)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def tick(self, step: int) -> bool:
        elapsed = time.perf_counter() - self.t0
        rate = (step - self.start) / elapsed if elapsed > 0 else 0.0
        self.say.every(f"  {self.label}: {step}/{self.until} steps  {rate:.0f} steps/s")
        return True


# -- the run ---------------------------------------------------------------------------------


@dataclass
class LeagueReport:
    """What one run of a league did, and where the league stands."""

    name: str
    rounds: int
    rounds_done: int
    games_played_now: int
    games_done: int
    snapshots: list[str]
    elapsed_s: float
    finished: bool
    ratings: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_league(spec: LeagueSpec, settings: Any, *, source: str = "spec",
               rounds: int | None = None, concurrency: int | None = None,
               stream: TextIO | None = sys.stderr) -> LeagueReport:
    """Run the league's rounds still to run; the same call again resumes.

    `rounds` overrides the spec's number of rounds (more rounds continue a
    finished league). Raises UserError (nothing stored) for a bad reference or
    learner setting, a league stored under the same name with other settings,
    or a league another runner holds.
    """
    if rounds is not None:
        spec = spec.model_copy(update={"rounds": rounds})
    if concurrency is not None:
        spec = spec.model_copy(update={"concurrency": concurrency})
    spec = spec.with_defaults(settings.time_per_move, settings.max_moves)
    roster = settings.roster_refs()
    check_league(spec, roster, source)
    if spec.threads is not None:
        import os

        import torch

        torch.set_num_threads(spec.threads)
        os.environ["OMP_NUM_THREADS"] = str(spec.threads)  # for the game workers it starts
    with LeagueLock(settings.data_dir, spec.name):
        store = Store(settings.store_path)
        try:
            record = records.open_league(store, spec, source)
            runner = _LeagueRunner(store, record, spec, roster, Path(settings.data_dir),
                                   _Say(stream))
            try:
                return runner.run()
            finally:
                runner.close()
        finally:
            store.close()


class _LeagueRunner:
    def __init__(self, store: Store, record: LeagueRecord, spec: LeagueSpec,
                 roster: dict[str, str], data_dir: Path, say: _Say):
        self.store, self.record, self.spec = store, record, spec
        self.lid = record.id
        self.roster = roster
        self.dir = league_dir(data_dir, spec.name)
        self.say = say
        self.learners: dict[str, Any] = {}
        self.backend: Any = None
        self.played_now = 0
        self.started = time.perf_counter()
        self._opponent_agents: dict[str, Any] = {}

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        for agent in self._opponent_agents.values():
            try:
                agent.close()
            except Exception:  # closing a cached opponent must not lose the league's work
                pass

    def run(self) -> LeagueReport:
        spec = self.spec
        done = records.rated_rounds(self.store, self.lid)
        self.say(f"league {spec.name}: {spec.game}, {len(spec.learners)} learner(s), "
                 f"{spec.rounds} rounds of {spec.steps_per_round} steps, "
                 f"{spec.games_per_round} games per snapshot, PFSP {spec.pfsp}"
                 + (f"; resuming after round {len(done)}" if done else ""))
        for r in range(spec.rounds):
            if r in done:
                continue
            self._round(r)
        return self._report()

    # -- one round --

    def _round(self, r: int) -> None:
        spec = self.spec
        self.say(f"round {r + 1}/{spec.rounds}")
        freeze = (r + 1) % spec.snapshot_every == 0
        have = {p.name for p in records.players(self.store, self.lid)}
        for i, learner_spec in enumerate(spec.learners):
            name = snapshot_name(learner_spec.name, r)
            if freeze and name in have:
                continue  # trained, frozen and planned before a restart
            learner = self._train(i, learner_spec, (r + 1) * spec.steps_per_round, r)
            if freeze:
                self._freeze(i, learner_spec, learner, r)
        self._play(r)
        self._rate(r)

    def _learner_dir(self, name: str) -> Path:
        return self.dir / "learners" / name

    def _learner(self, i: int, learner_spec: LearnerSpec) -> Any:
        """The learner in memory: loaded from its checkpoint, else new."""
        if learner_spec.name in self.learners:
            return self.learners[learner_spec.name]
        from agents.algorithms import learner_classes
        from agents.learner import resolve_device

        cls, _ = learner_classes(learner_spec.algo)
        device = resolve_device(self.spec.device)
        where = state_dir(self._learner_dir(learner_spec.name))
        if where is not None:
            learner = cls.load(where, device, for_training=True)
        else:
            config = learner_config(self.spec, learner_spec)
            learner = cls(self.spec.game, config, device, self.spec.seed + 1000 * (i + 1))
        self.learners[learner_spec.name] = learner
        return learner

    def _train(self, i: int, learner_spec: LearnerSpec, until: int, r: int) -> Any:
        learner = self._learner(i, learner_spec)
        if learner.steps >= until:
            return learner
        if hasattr(learner, "set_opponent_sampler"):
            learner.set_opponent_sampler(self._training_sampler(learner_spec.name, r))
        self.say(f"  {learner_spec.name}: training {learner.steps} -> {until} steps "
                 f"({learner_spec.algo} on {getattr(learner, 'device', 'cpu')})")
        t0 = time.perf_counter()
        learner.train(until, _TrainProgress(self.say, learner_spec.name, learner.steps, until))
        save_swapped(lambda d: learner.save(d, with_train_state=True),
                     self._learner_dir(learner_spec.name))
        self.say(f"  {learner_spec.name}: {learner.steps} steps "
                 f"({time.perf_counter() - t0:.0f}s), checkpoint saved")
        return learner

    def _freeze(self, i: int, learner_spec: LearnerSpec, learner: Any, r: int) -> None:
        """Write the snapshot and register it with its planned games."""
        name = snapshot_name(learner_spec.name, r)
        path = self.dir / "snapshots" / name
        save_swapped(lambda d: learner.save(d, with_train_state=False), path)
        snapshot = Player(name=name, kind="snapshot", agent=str(path.resolve()),
                          learner=learner_spec.name, round=r, steps=int(learner.steps))
        planned = self.plan(learner_spec, i, name, r)
        records.add_snapshot(self.store, self.lid, snapshot, planned)
        counts: dict[str, int] = {}
        for g in planned:
            opponent = g.seats[1] if g.seats[0] == name else g.seats[0]
            counts[opponent] = counts.get(opponent, 0) + 1
        self.say(f"  {name} frozen at {learner.steps} steps; {len(planned)} games vs "
                 + ", ".join(f"{o} x{n}" for o, n in counts.items()))

    # -- PFSP --

    def pool(self, before_round: int) -> list[Player]:
        """The opponents a snapshot of `before_round` may meet: the references and the newest
        `pool_size` snapshots frozen in earlier rounds."""
        everyone = records.players(self.store, self.lid)
        refs = [p for p in everyone if p.kind == "reference"]
        snaps = [p for p in everyone if p.kind == "snapshot" and p.round is not None
                 and p.round < before_round]
        return refs + snaps[-self.spec.pool_size:]

    def weights(self, learner: str, before_round: int) -> dict[str, float]:
        """PFSP probabilities of each opponent for `learner`'s next snapshot."""
        ratings = records.latest_ratings(self.store, self.lid)
        own = [p for p in records.players(self.store, self.lid)
               if p.kind == "snapshot" and p.learner == learner and p.round is not None
               and p.round < before_round]
        rating = ratings[own[-1].name].elo if own and own[-1].name in ratings else 0.0
        opponents = {p.name: ratings[p.name].elo if p.name in ratings else 0.0
                     for p in self.pool(before_round)}
        return pfsp_distribution(rating, opponents, self.spec.pfsp, self.spec.pfsp_exponent)

    def plan(self, learner_spec: LearnerSpec, i: int, name: str, r: int) -> list[LeagueGame]:
        """The snapshot's evaluation games: pairs (colours swapped) against PFSP draws."""
        spec = self.spec
        dist = self.weights(learner_spec.name, r)
        names = list(dist)
        probs = np.array([dist[n] for n in names])
        rng = np.random.default_rng([spec.seed, r, i])
        out: list[LeagueGame] = []
        opponent = names[0]
        for k in range(spec.games_per_round):
            if k % 2 == 0:
                opponent = names[int(rng.choice(len(names), p=probs / probs.sum()))]
            seats = [name, opponent] if k % 2 == 0 else [opponent, name]
            seed = (spec.seed * 1_000_003 + r * 10_007 + i * 1_009 + k) % 2**31
            key = json.dumps([r, name, k, opponent, seed])
            out.append(LeagueGame(key, k, r, seats, seed, "planned", None, 0))
        return out

    def _training_sampler(self, learner: str, r: int) -> Callable[[Any], Any]:
        """fn(rng) -> an opponent agent for training games, drawn by PFSP from the pool."""
        from agents.registry import make_agent

        agents = {p.name: p.agent for p in self.pool(r)}

        def make(name: str) -> Any:
            if name not in self._opponent_agents:
                agent = make_agent(agents[name], self.roster)
                agent.name = name
                self._opponent_agents[name] = agent
            return self._opponent_agents[name]

        return pfsp_sampler(self.weights(learner, r), make)

    # -- evaluation games --

    def _play(self, r: int) -> None:
        from tournaments.backends import default_concurrency, make_backend
        from tournaments.worker import GameJob

        queue = records.games(self.store, self.lid, "planned", round=r)
        if not queue:
            return
        agents = {p.name: p.agent for p in records.players(self.store, self.lid)}
        total = len(records.games(self.store, self.lid, round=r))
        settled = total - len(queue)
        if self.backend is None:
            cores = default_concurrency()
            wanted = min(self.spec.concurrency or cores, cores)
            self.backend = _InlineBackend() if wanted == 1 else make_backend("local", wanted)
        backend = self.backend
        self.say(f"  playing {len(queue)} of {total} games ({getattr(backend, 'playing', backend.slots)} at a time)")
        rows = {g.key: g for g in queue}
        pending = list(queue)
        in_flight: set[str] = set()
        t0 = time.perf_counter()
        played = 0
        while pending or in_flight:
            while pending and len(in_flight) < backend.slots:
                g = pending.pop(0)
                backend.submit(GameJob(
                    key=g.key, game=self.spec.game, seats=list(g.seats),
                    agents=[agents[s] for s in g.seats], seed=g.seed,
                    time_per_move=self.spec.time_per_move, max_moves=self.spec.max_moves,
                    tag=self.record.tag, roster=self.roster))
                in_flight.add(g.key)
            for outcome in backend.wait(0.5):
                in_flight.discard(outcome.key)
                g = rows[outcome.key]
                if outcome.result is not None:
                    key = g.key
                    self.store.record(outcome.result, then=lambda conn, mid, key=key:
                                      records.mark_done(conn, self.lid, key, mid))
                    played += 1
                    self.played_now += 1
                    settled += 1
                elif outcome.unstarted:
                    pending.insert(0, g)
                else:
                    attempts = g.attempts + 1
                    final = attempts >= MAX_ATTEMPTS
                    records.void_attempt(self.store, self.lid, g.key, attempts,
                                         outcome.void_reason or "the harness failed", final)
                    self.say(f"  game {' vs '.join(g.seats)} voided: {outcome.void_reason}")
                    if final:
                        settled += 1
                    else:
                        rows[g.key] = LeagueGame(g.key, g.ordinal, g.round, g.seats, g.seed,
                                                 g.status, None, attempts)
                        pending.insert(0, rows[g.key])
            rate = played / max(time.perf_counter() - t0, 1e-9)
            self.say.every(f"  round {r + 1}: {settled}/{total} games  {rate:.1f} games/s")
        self.say(f"  round {r + 1}: {settled}/{total} games played")

    # -- ratings --

    def _rate(self, r: int) -> None:
        rows = rate(self.store, self.record.id, self.spec)
        records.store_ratings(self.store, self.lid, r, rows, finished=r == self.spec.rounds - 1)
        snaps = [row for row in rows if row.player not in self.spec.reference_names]
        shown = sorted(snaps, key=lambda row: -row.elo)[:3]
        self.say(f"  rated ({self.spec.anchor_name} = 0): "
                 + ", ".join(f"{row.player} {row.elo:+.0f} ± {row.ci95:.0f}" for row in shown))

    def _report(self) -> LeagueReport:
        latest = records.latest_ratings(self.store, self.lid)
        counts = records.status_counts(self.store, self.lid)
        done = records.rated_rounds(self.store, self.lid)
        return LeagueReport(
            name=self.spec.name, rounds=self.spec.rounds,
            rounds_done=len([r for r in done if r < self.spec.rounds]),
            games_played_now=self.played_now, games_done=counts.get("done", 0),
            snapshots=[p.name for p in records.players(self.store, self.lid)
                       if p.kind == "snapshot"],
            elapsed_s=time.perf_counter() - self.started,
            finished=all(r in done for r in range(self.spec.rounds)),
            ratings={k: {"elo": v.elo, "ci95": v.ci95, "games": v.games}
                     for k, v in latest.items()})


class _InlineBackend:
    """Games played one at a time in this process (concurrency 1): no worker to start."""

    name = "inline"
    slots = 1

    def __init__(self) -> None:
        self.jobs: list[Any] = []

    def submit(self, job: Any) -> None:
        self.jobs.append(job)

    def wait(self, timeout: float | None) -> list[Any]:
        from tournaments.worker import play_job

        return [play_job(self.jobs.pop(0))] if self.jobs else []

    def close(self) -> None:
        from tournaments.worker import close_agents

        close_agents()


def rate(store: Store, lid: int, spec: LeagueSpec) -> list[RatingRow]:
    """Bradley-Terry Elo with 95% intervals of every player over all the league's games so far
    (the anchor reference at 0); one row per player, `round` left at -1 for the caller."""
    everyone = [p.name for p in records.players(store, lid)]
    played = records.results(store, lid)
    fit = fit_elo(everyone, [(a, b, s) for a, b, s, _ in played], anchor=spec.anchor_name)
    return [RatingRow(-1, name, float(fit.elo[k]), float(fit.ci95[k]), int(fit.games[k]))
            for k, name in enumerate(everyone)]
