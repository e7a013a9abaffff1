"""REINFORCE on CartPole with each baseline: learning curves and a table.

Trains agents/pg.py's REINFORCE with the whitening, learned (self-critic) and
sampled baselines (presets `cartpole-whitening`, `cartpole`, `cartpole-sampled`
of agents/presets/pg.yaml) for a few seeds each, evaluates the greedy policy
every `--eval-every` env steps over 20 episodes through Arena's match loop, and
writes one PNG with the curves (mean over seeds, band = min..max) and prints a
table: env steps until the first evaluation >= 475, the step from which every
later evaluation stays >= 475, the final evaluation, and the training time.

    pip install -e '.[bench]'
    .venv/bin/python benchmarks/reinforce_curves.py --seeds 3 --steps 300000 --jobs 2

Every env step counts, including the greedy baseline's extra rollouts
(`--baselines ... greedy` adds that curve). Runs use one torch thread each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRESETS = {"whitening": "cartpole-whitening", "learned": "cartpole",
           "sampled": "cartpole-sampled", "greedy": "cartpole-greedy"}
SOLVED = 475.0


def run(baseline: str, seed: int, steps: int, eval_every: int, episodes: int) -> dict[str, Any]:
    """Train one seed; the greedy policy's mean return at every eval_every steps."""
    import torch

    from agents.algorithms import preset
    from agents.learner import TrainHooks, config_from_dict
    from agents.pg import REINFORCE, REINFORCEConfig
    from agents.evaluate import evaluate

    torch.set_num_threads(1)
    name = PRESETS[baseline]
    config = config_from_dict(REINFORCEConfig, preset("pg", "cartpole", name), f"pg.yaml: {name}")
    learner = REINFORCE("cartpole", config, torch.device("cpu"), seed)
    evals: list[tuple[int, float]] = [(0, evaluate(learner.agent(), "cartpole", episodes)[0])]
    train_s = 0.0

    class Hooks(TrainHooks):
        next_eval = eval_every

        def tick(self, step: int) -> bool:
            return step < self.next_eval  # pause training at each evaluation point

    hooks = Hooks()
    while learner.steps < steps:
        start = time.perf_counter()
        learner.train(min(hooks.next_eval, steps), hooks)
        train_s += time.perf_counter() - start
        if learner.steps >= hooks.next_eval or learner.steps >= steps:
            # Evaluations are labelled with the step they were due at; the batch that
            # crossed it overshoots by less than one batch of episodes.
            evals.append((hooks.next_eval, evaluate(learner.agent(), "cartpole", episodes)[0]))
            hooks.next_eval += eval_every
    learner.close()
    return {"baseline": baseline, "seed": seed, "evals": evals, "train_s": train_s}


def first_solved(evals: list[tuple[int, float]]) -> int | None:
    return next((step for step, mean in evals if mean >= SOLVED), None)


def stays_solved(evals: list[tuple[int, float]]) -> int | None:
    """The first evaluation step from which every later evaluation is solved."""
    for i, (step, _) in enumerate(evals):
        if all(mean >= SOLVED for _, mean in evals[i:]):
            return step
    return None


def fmt_steps(values: list[int | None]) -> str:
    known = [v for v in values if v is not None]
    per_seed = ", ".join("-" if v is None else f"{v // 1000}k" for v in values)
    if len(known) < len(values):
        return f"{len(known)}/{len(values)} seeds ({per_seed})"
    return f"median {statistics.median(known) / 1000:.0f}k ({per_seed})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baselines", nargs="+", default=["whitening", "learned", "sampled"],
                        choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at a time")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reinforce_baselines.png")
    args = parser.parse_args()

    jobs = [(b, s, args.steps, args.eval_every, args.episodes)
            for b in args.baselines for s in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, *zip(*jobs)))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    print(f"REINFORCE on CartPole-v1, {args.seeds} seeds, greedy evaluation over "
          f"{args.episodes} episodes every {args.eval_every} env steps\n")
    print(f"| baseline | first eval >= {SOLVED:.0f} | stays >= {SOLVED:.0f} from | "
          "final eval (mean ± std) | train s/run |")
    print("|---|---|---|---|---:|")
    for baseline in args.baselines:
        runs = [r for r in results if r["baseline"] == baseline]
        steps = np.array([s for s, _ in runs[0]["evals"]])
        curves = np.array([[m for _, m in r["evals"]] for r in runs])
        mean = curves.mean(axis=0)
        label = f"{baseline} (preset {PRESETS[baseline]})"
        (line,) = ax.plot(steps, mean, label=label)
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), alpha=0.2,
                        color=line.get_color())
        finals = curves[:, -1]
        print(f"| {baseline} | {fmt_steps([first_solved(r['evals']) for r in runs])} | "
              f"{fmt_steps([stays_solved(r['evals']) for r in runs])} | "
              f"{finals.mean():.1f} ± {finals.std():.1f} | "
              f"{statistics.mean(r['train_s'] for r in runs):.1f} |")
    ax.axhline(SOLVED, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"greedy return (mean of {args.episodes} episodes)")
    ax.set_title(f"REINFORCE baselines on CartPole-v1 ({args.seeds} seeds: mean, min..max)")
    ax.set_ylim(0, 520)
    ax.legend(loc="lower right")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
