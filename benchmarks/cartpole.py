"""Arena's DQN and PPO against Stable-Baselines3 on CartPole-v1, one protocol for both.

For each seed, in this order so that machine noise falls on both sides alike:
Arena DQN (preset `cartpole` of agents/presets/dqn.yaml, 50k env steps), SB3 DQN,
Arena PPO (preset `cartpole` of agents/presets/ppo.yaml, 100k env steps), SB3 PPO,
SB3 with rl-baselines3-zoo's tuned CartPole-v1 hyperparameters (`ZOO_DQN`, `ZOO_PPO`).

Evaluation is the same for all four: every `--eval-every` env steps (transitions
summed over the vectorised envs), the mean return of 20 greedy episodes on separate
CartPole-v1 envs seeded 10000..10019. An evaluation at step S sees the network after
every update that the transitions up to S trigger: DQN is evaluated exactly at S;
PPO, which updates once per 8 x 32 = 256-step rollout, after the update of the first
rollout that reaches S (both sides alike; the figures are labelled with S). The clock
that measures training time is paused around every evaluation. torch uses one thread.

From each run's evaluation history come: the step at which the mean first reaches
475 ("first"), the step from which it stays >= 475 at every later evaluation
("stays"), whether the last evaluation is >= 475, and the training time.

    pip install -e '.[bench]'     # stable-baselines3 (benchmark only; the app never imports it)
    .venv/bin/python benchmarks/cartpole.py                       # 5 seeds, DQN and PPO
    .venv/bin/python benchmarks/cartpole.py --algos dqn --seeds 0,1 --json > a.json
    .venv/bin/python benchmarks/cartpole.py --report a.json b.json   # merge split runs

Results and the protocol in detail: docs/benchmarks/cartpole.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

SOLVED = 475.0
ENV_ID = "CartPole-v1"
EVAL_EPISODES = 20
EVAL_SEED = 10_000
INSTALL_HINT = ("stable-baselines3 is not installed; install the benchmark extra: "
                "pip install -e '.[bench]'  (or: pip install --no-deps stable-baselines3)")

# rl-baselines3-zoo, hyperparams/dqn.yml and ppo.yml, entry CartPole-v1.
ZOO_DQN: dict[str, Any] = {
    "n_timesteps": 50_000, "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000,
    "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10, "train_freq": 256,
    "gradient_steps": 128, "exploration_fraction": 0.16, "exploration_final_eps": 0.04,
    "net_arch": [256, 256]}
ZOO_PPO: dict[str, Any] = {
    "n_envs": 8, "n_timesteps": 100_000, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8,
    "gamma": 0.98, "n_epochs": 20, "ent_coef": 0.0,
    "learning_rate": 1e-3, "clip_range": 0.2}  # both fall linearly to 0 (the zoo's lin_)
ARENA_STEPS = {"dqn": 50_000, "ppo": 100_000}

History = list[tuple[int, float]]  # (env step, mean greedy return)


# --- the measures ------------------------------------------------------------------------------


def first_reaches(history: Sequence[tuple[int, float]], threshold: float = SOLVED) -> int | None:
    """The step of the first evaluation whose mean is >= threshold (None: never)."""
    return next((step for step, mean in history if mean >= threshold), None)


def stays_from(history: Sequence[tuple[int, float]], threshold: float = SOLVED) -> int | None:
    """The step of the evaluation from which every later one is >= threshold (None: never,
    including a run that was solved but had fallen below by its last evaluation)."""
    start = None
    for step, mean in history:
        if mean < threshold:
            start = None
        elif start is None:
            start = step
    return start


def median_steps(values: Sequence[int | None]) -> float | None:
    """The median with "never" counted as later than any step (None when it is "never")."""
    ordered = sorted(math.inf if v is None else float(v) for v in values)
    if not ordered:
        return None
    median = statistics.median(ordered)
    return None if math.isinf(median) else median


# --- evaluation ----------------------------------------------------------------------------------


class GreedyEval:
    """Mean return of greedy episodes on fixed seeds, the episodes stepped in lockstep.

    `act(obs_batch) -> actions` picks the greedy action for each row; episodes are
    independent envs, so the returns are those of playing them one by one.
    """

    def __init__(self, episodes: int = EVAL_EPISODES, seed: int = EVAL_SEED):
        import gymnasium as gym

        self.envs = [gym.make(ENV_ID) for _ in range(episodes)]
        self.seed = seed

    def __call__(self, act: Callable[[np.ndarray], np.ndarray]) -> float:
        obs = [env.reset(seed=self.seed + i)[0] for i, env in enumerate(self.envs)]
        returns = [0.0] * len(self.envs)
        live = list(range(len(self.envs)))
        while live:
            actions = act(np.stack([obs[i] for i in live]))
            still = []
            for i, action in zip(live, actions, strict=True):
                obs[i], reward, terminated, truncated, _ = self.envs[i].step(int(action))
                returns[i] += float(reward)
                if not (terminated or truncated):
                    still.append(i)
            live = still
        return float(np.mean(returns))


class Clock:
    """Training wall time: runs from start() and is paused around evaluations."""

    def __init__(self) -> None:
        self.begun = time.perf_counter()
        self.paused = 0.0

    @contextmanager
    def pause(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - start

    def seconds(self) -> float:
        return time.perf_counter() - self.begun - self.paused


class EvalSchedule:
    """Due evaluation points eval_every, 2 * eval_every, ... up to the run's length."""

    def __init__(self, eval_every: int, total: int, evaluator: GreedyEval, clock: Clock):
        self.eval_every, self.total = eval_every, total
        self.evaluator, self.clock = evaluator, clock
        self.next = eval_every
        self.history: History = []
        self.actual: list[int] = []  # the step each evaluation really happened at

    def due(self, step: int) -> bool:
        return self.next <= self.total and step >= self.next

    def run(self, step: int, act: Callable[[np.ndarray], np.ndarray]) -> None:
        """Evaluate once (labelled with the due point) and skip any points passed meanwhile."""
        with self.clock.pause():
            mean = self.evaluator(act)
        self.history.append((self.next, mean))
        self.actual.append(step)
        while self.next <= step:
            self.next += self.eval_every


# --- the four runs -----------------------------------------------------------------------------


def _torch_act(forward: Callable[[Any], Any]) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return forward(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()

    return act


def run_arena(algo: str, seed: int, eval_every: int, evaluator: GreedyEval) -> dict[str, Any]:
    """Train an Arena learner from its `cartpole` preset, in chunks that end at the due points."""
    from dataclasses import replace

    import torch

    from agents.algorithms import learner_classes, preset
    from agents.learner import config_from_dict

    total = ARENA_STEPS[algo]
    clock = Clock()
    cls, config_cls = learner_classes(algo)
    hyper = preset(algo, "cartpole", None)
    hyper.pop("eval_every", None)
    hyper.pop("total_steps", None)
    config = replace(config_from_dict(config_cls, hyper, f"{algo}.yaml: cartpole"),
                     total_steps=total)  # the schedules' span, as `arena train` sets it
    learner = cls("cartpole", config, torch.device("cpu"), seed)
    net = learner.q if algo == "dqn" else learner.net
    act = _torch_act(net if algo == "dqn" else (lambda obs: net(obs)[0]))
    schedule = EvalSchedule(eval_every, total, evaluator, clock)
    # DQN stops exactly at until_step; PPO at the end of the rollout that reaches it,
    # after that rollout's update (as `arena train` ticks).
    while learner.steps < total:
        learner.train(min(schedule.next, total))
        if schedule.due(learner.steps):
            schedule.run(learner.steps, act)
    train_s = clock.seconds()
    learner.close()
    return _result("arena", algo, seed, learner.steps, train_s, schedule)


def run_sb3(algo: str, seed: int, eval_every: int, evaluator: GreedyEval) -> dict[str, Any]:
    """Train SB3 with the zoo's settings; a callback evaluates at the same points as Arena's."""
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    clock = Clock()
    if algo == "dqn":
        z = ZOO_DQN
        total = z["n_timesteps"]
        model = DQN("MlpPolicy", make_vec_env(ENV_ID, n_envs=1, seed=seed),
                    learning_rate=z["learning_rate"], batch_size=z["batch_size"],
                    buffer_size=z["buffer_size"], learning_starts=z["learning_starts"],
                    gamma=z["gamma"], target_update_interval=z["target_update_interval"],
                    train_freq=z["train_freq"], gradient_steps=z["gradient_steps"],
                    exploration_fraction=z["exploration_fraction"],
                    exploration_final_eps=z["exploration_final_eps"],
                    policy_kwargs={"net_arch": z["net_arch"]}, seed=seed, device="cpu")
    else:
        z = ZOO_PPO
        total = z["n_timesteps"]
        model = PPO("MlpPolicy", make_vec_env(ENV_ID, n_envs=z["n_envs"], seed=seed),
                    n_steps=z["n_steps"], batch_size=z["batch_size"], gae_lambda=z["gae_lambda"],
                    gamma=z["gamma"], n_epochs=z["n_epochs"], ent_coef=z["ent_coef"],
                    learning_rate=_linear(z["learning_rate"]), clip_range=_linear(z["clip_range"]),
                    seed=seed, device="cpu")

    def act(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    schedule = EvalSchedule(eval_every, total, evaluator, clock)

    class Evaluations(BaseCallback):
        """DQN: evaluate at the due step itself, unless that step ends a collection round
        (its updates come after the callback): then, like PPO, at the start of the next
        round, i.e. after the update."""

        def _on_step(self) -> bool:
            if algo == "dqn" and schedule.due(self.num_timesteps):
                collected, freq = self.locals["num_collected_steps"], self.locals["train_freq"]
                if collected < freq.frequency:  # not the round's last step
                    schedule.run(self.num_timesteps, act)
            # DQN collects whole rounds of train_freq steps; stop at `total` like Arena's
            # learner (PPO's last rollout overshoots by the same 96 steps on both sides).
            return algo != "dqn" or self.num_timesteps < total

        def _on_rollout_start(self) -> None:
            steps = self.model.num_timesteps  # (not yet copied to self.num_timesteps here)
            if schedule.due(steps):
                schedule.run(steps, act)

    model.learn(total_timesteps=total, callback=Evaluations())
    if schedule.due(model.num_timesteps):
        schedule.run(model.num_timesteps, act)
    train_s = clock.seconds()
    model.env.close()
    return _result("sb3", algo, seed, model.num_timesteps, train_s, schedule)


def _linear(initial: float) -> Callable[[float], float]:
    """The zoo's `lin_<x>` schedule: SB3 passes the share of training left (1 -> 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def _result(side: str, algo: str, seed: int, steps: int, train_s: float,
            schedule: EvalSchedule) -> dict[str, Any]:
    history = schedule.history
    return {"side": side, "algo": algo, "seed": seed, "steps": steps,
            "train_s": round(train_s, 2),
            "first": first_reaches(history), "stays": stays_from(history),
            "final": history[-1][1] if history else None,
            "solved_at_end": bool(history) and history[-1][1] >= SOLVED,
            "evals": [[s, round(m, 2), a] for (s, m), a in zip(history, schedule.actual,
                                                                strict=True)]}


# --- the report ------------------------------------------------------------------------------


def summarize(results: list[dict[str, Any]], algo: str) -> dict[str, Any]:
    """Per side: medians of first / stays / train time and the seeds solved at the end;
    then the Arena/SB3 ratios of those medians."""
    out: dict[str, Any] = {}
    for side in ("arena", "sb3"):
        runs = [r for r in results if r["algo"] == algo and r["side"] == side]
        out[side] = {"first": median_steps([r["first"] for r in runs]),
                     "stays": median_steps([r["stays"] for r in runs]),
                     "train_s": statistics.median(r["train_s"] for r in runs) if runs else None,
                     "solved_at_end": sum(r["solved_at_end"] for r in runs),
                     "stays_solved": sum(r["stays"] is not None for r in runs),
                     "seeds": len(runs)}
    out["ratio"] = {key: _ratio(out["arena"][key], out["sb3"][key])
                    for key in ("first", "stays", "train_s")}
    per_seed = [r for r in _time_ratios(results, algo).values() if r is not None]
    out["ratio"]["train_s_per_seed_median"] = (round(statistics.median(per_seed), 4)
                                               if per_seed else None)
    return out


def _time_ratios(results: list[dict[str, Any]], algo: str) -> dict[int, float | None]:
    """Arena's training time over SB3's, seed by seed (the two ran back to back)."""
    by = {(r["side"], r["seed"]): r for r in results if r["algo"] == algo}
    return {seed: _ratio(by[("arena", seed)]["train_s"], by[("sb3", seed)]["train_s"])
            for side, seed in by if side == "arena" and ("sb3", seed) in by}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 4)


def _steps(v: float | None) -> str:
    return "never" if v is None else f"{v / 1000:g}k"


def table(results: list[dict[str, Any]], algo: str, summary: dict[str, Any]) -> str:
    """A markdown table: one row per seed, then the medians and the Arena/SB3 ratios."""
    lines = [(f"{algo.upper()} on {ENV_ID}: Arena (preset cartpole, "
              f"{ARENA_STEPS[algo] // 1000}k steps) vs SB3 (zoo settings)"), "",
             ("| seed | Arena first >= 475 | Arena stays from | Arena final | Arena train s "
              "| SB3 first >= 475 | SB3 stays from | SB3 final | SB3 train s "
              "| time Arena/SB3 |"),
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = _time_ratios(results, algo)
    seeds = sorted({r["seed"] for r in results if r["algo"] == algo})
    by = {(r["side"], r["seed"]): r for r in results if r["algo"] == algo}
    for seed in seeds:
        cells = [str(seed)]
        for side in ("arena", "sb3"):
            r = by.get((side, seed))
            cells += ["-"] * 4 if r is None else [
                _steps(r["first"]), _steps(r["stays"]), f"{r['final']:.1f}", f"{r['train_s']:.1f}"]
        cells.append(_fmt(ratios.get(seed), ".2f"))
        lines.append("| " + " | ".join(cells) + " |")
    a, b, ratio = summary["arena"], summary["sb3"], summary["ratio"]
    lines.append(f"| median | {_steps(a['first'])} | {_steps(a['stays'])} | "
                 f"{a['solved_at_end']}/{a['seeds']} solved | {_fmt(a['train_s'], '.1f')} | "
                 f"{_steps(b['first'])} | {_steps(b['stays'])} | "
                 f"{b['solved_at_end']}/{b['seeds']} solved | {_fmt(b['train_s'], '.1f')} | "
                 f"{_fmt(ratio['train_s_per_seed_median'], '.2f')} |")
    lines += ["", (f"Arena/SB3 (medians): first {_fmt(ratio['first'], '.2f')}, "
                   f"stays {_fmt(ratio['stays'], '.2f')}, "
                   f"train time {_fmt(ratio['train_s'], '.2f')}; "
                   f"seeds solved at the end: Arena {a['solved_at_end']}/{a['seeds']}, "
                   f"SB3 {b['solved_at_end']}/{b['seeds']}; seeds that stay solved: "
                   f"Arena {a['stays_solved']}/{a['seeds']}, SB3 {b['stays_solved']}/{b['seeds']}")]
    return "\n".join(lines)


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


# --- command line ------------------------------------------------------------------------------


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds: '{text}' is not a comma-separated list "
                                         "of whole numbers") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds: give at least one seed")
    return seeds


def _algos(text: str) -> list[str]:
    algos = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in algos if a not in ARENA_STEPS]
    if bad or not algos:
        raise argparse.ArgumentTypeError(f"--algos: '{text}' (choose from dqn, ppo, "
                                         "comma-separated)")
    return algos


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--eval-every: '{text}' is not a positive whole number")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/cartpole.py",
        description="Arena's DQN and PPO against Stable-Baselines3 (rl-baselines3-zoo settings) "
                    "on CartPole-v1, interleaved per seed, with one evaluation protocol: the "
                    f"mean of {EVAL_EPISODES} greedy episodes (seeds {EVAL_SEED}..) every "
                    "--eval-every env steps, outside the training clock. Needs "
                    "stable-baselines3: pip install -e '.[bench]'.")
    parser.add_argument("--algos", type=_algos, default=["dqn", "ppo"],
                        help="comma-separated: dqn, ppo (default: dqn,ppo)")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2, 3, 4],
                        help="comma-separated seeds (default: 0,1,2,3,4)")
    parser.add_argument("--eval-every", type=_positive, default=2500,
                        help="env steps between evaluations, summed over vectorised envs "
                             "(default: 2500)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (runs with their evaluations, summaries) "
                             "instead of the tables")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                        help="train nothing: merge the runs of earlier --json outputs (e.g. "
                             "seeds split over several processes) and print their tables")
    return parser.parse_args(argv)


def _read_reports(paths: Sequence[Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first file's settings and the runs of all files (later files win per run)."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    head: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
            found = data["runs"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"--report: '{path}' is not a JSON output of this benchmark "
                             f"({exc.__class__.__name__})") from None
        head = head or data
        for run in found:
            runs[(run["side"], run["algo"], int(run["seed"]))] = run
    return head, list(runs.values())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        try:
            head, results = _read_reports(args.report)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        algos = [a for a in args.algos if any(r["algo"] == a for r in results)]
        seeds = sorted({int(r["seed"]) for r in results})
        _print(results, algos, seeds, int(head.get("eval_every", args.eval_every)), args.json,
               {k: head.get(k) for k in ("started", "torch_threads", "versions")})
        return 0
    if importlib.util.find_spec("stable_baselines3") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    evaluator = GreedyEval()
    results: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    for seed in args.seeds:
        for algo in args.algos:
            for side, run in (("arena", run_arena), ("sb3", run_sb3)):
                result = run(algo, seed, args.eval_every, evaluator)
                results.append(result)
                print(f"seed {seed} {side:5} {algo}: first {_steps(result['first'])}, "
                      f"stays {_steps(result['stays'])}, final {result['final']:.1f}, "
                      f"train {result['train_s']:.1f}s", file=sys.stderr, flush=True)
    _print(results, args.algos, args.seeds, args.eval_every, args.json,
           {"started": started, "torch_threads": torch.get_num_threads(),
            "versions": _versions()})
    return 0


def _print(results: list[dict[str, Any]], algos: list[str], seeds: list[int], eval_every: int,
           as_json: bool, extra: dict[str, Any]) -> None:
    summaries = {algo: summarize(results, algo) for algo in algos}
    if as_json:
        print(json.dumps({"env": ENV_ID, **extra, "seeds": seeds, "eval_every": eval_every,
                          "eval_episodes": EVAL_EPISODES, "summary": summaries,
                          "runs": results}, indent=1))
    else:
        print(f"{ENV_ID}, seeds {','.join(map(str, seeds))}: mean of {EVAL_EPISODES} "
              f"greedy episodes every {eval_every} env steps; train s excludes evaluations\n")
        print("\n\n".join(table(results, algo, summaries[algo]) for algo in algos))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "gymnasium", "numpy", "stable_baselines3")}


if __name__ == "__main__":
    sys.exit(main())
