"""Arena's torch thread policy: how many threads each process gives torch.

torch starts one intra-op (OpenMP) thread per core. That suits one big model
on an idle machine, and nothing Arena runs:

- **Playing** (matches, the terminal app, the window, GTP, tournament and
  evaluation workers): a search agent evaluates small batches of positions
  between stretches of tree walking and compiled playouts. Each forward pass
  then waits at an OpenMP barrier for every thread; when another process holds
  a core (the other seat's engine, a second worker, anything else on the
  machine), a thread waits for it and the pass stalls. Measured on 2 cores
  (benchmarks/move_time.py): the shipped 9x9 model took 0.45 s a move on one
  thread and 0.5-2.6 s with torch's default of 2 while another process ran;
  it took 17-30 s a move in a match with the default before this policy. One
  thread a process is as fast on an idle machine and stays fast on a busy one.
- **Training**: big batches do gain from threads, so a trainer gets the cores
  this process may use, shared among the worker processes it runs beside.

The user can still choose: `threads = N` in arena.toml, `--threads N` on the
command line, or `ARENA_THREADS`; an `OMP_NUM_THREADS` set in the environment
is also respected (torch already follows it).
"""

from __future__ import annotations

import os
import sys
from typing import Literal

Role = Literal["play", "train"]

#: torch threads per playing process (see the module docstring for why one)
PLAY_THREADS = 1
#: Marks an OMP_NUM_THREADS that this policy set (for child processes), not the user.
_SET_BY_POLICY = "ARENA_OMP_FROM_POLICY"


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def policy_threads(role: Role, workers: int = 1) -> int:
    """Arena's choice of torch threads for a process with `role`, one of `workers` alike."""
    if role == "play":
        return PLAY_THREADS
    return max(1, usable_cores() // max(1, workers))


def chosen_threads(role: Role, workers: int = 1, requested: int | str | None = None) -> int:
    """The torch threads a process should use: the user's choice if any, else the policy.

    `requested` is a number (from --threads or arena.toml), or None / "auto".
    Then ARENA_THREADS, then OMP_NUM_THREADS, then `policy_threads`.
    """
    if isinstance(requested, int) and not isinstance(requested, bool) and requested > 0:
        return requested
    for name in ("ARENA_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if name == "OMP_NUM_THREADS" and value == os.environ.get(_SET_BY_POLICY):
            continue  # inherited from an Arena parent process, not chosen by the user
        if value.isdigit() and int(value) > 0:
            return int(value)
    return policy_threads(role, workers)


def apply_thread_policy(role: Role, workers: int = 1,
                        requested: int | str | None = None) -> int:
    """Set this process's torch threads (and those of processes it starts); returns the count.

    Child processes (tournament workers, GTP engines, training actors) inherit
    OMP_NUM_THREADS, so a library that starts its own OpenMP pool there obeys too.
    """
    threads = chosen_threads(role, workers, requested)
    user_omp = os.environ.get("OMP_NUM_THREADS")
    if user_omp is None or user_omp == os.environ.get(_SET_BY_POLICY):
        os.environ["OMP_NUM_THREADS"] = os.environ[_SET_BY_POLICY] = str(threads)
    torch = sys.modules.get("torch")
    if torch is None and threads > usable_cores():  # torch caps OMP_NUM_THREADS at the cores
        import torch
    if torch is not None:  # else torch reads OMP_NUM_THREADS when it is imported
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return threads
