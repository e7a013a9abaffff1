"""Where a tournament's games run: a local process pool, or Ray tasks on a cluster.

Both take GameJobs and hand back GameOutcomes; neither touches the store (the
driver alone writes results). A backend keeps at most `slots` games running;
the runner decides what to submit next, so a withdrawal or an SPRT stop takes
effect at once instead of after a queue drains.

The local pool is our own rather than concurrent.futures' ProcessPoolExecutor:
when one worker dies, ProcessPoolExecutor marks the whole pool broken and
fails every game in flight, and cannot say which game killed it. Here each
worker has its own pipe, so a death voids exactly one game, the blame cell
(see tournaments/worker.py) says whose code was running, and only that worker
is replaced.

Each worker is handed up to PIPELINE_DEPTH games at a time, so it starts the
next game while the driver is still committing the last one; a game queued
behind one whose worker died was never started and goes back to the queue
without counting as an attempt.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from collections import deque
from typing import Any, Protocol

from games.errors import UserError
from tournaments.worker import GameJob, GameOutcome, close_agents, play_job

#: Seconds between a worker's checks that its parent is still alive.
_ORPHAN_CHECK_S = 0.5
#: Games handed to each worker (local) or CPU (Ray) at once: one playing, the rest waiting.
PIPELINE_DEPTH = 2


class Backend(Protocol):
    """Runs games: submit jobs, collect outcomes."""

    name: str

    @property
    def slots(self) -> int:
        """How many games it holds at once (playing, or queued behind one that plays)."""
        ...

    @property
    def playing(self) -> int:
        """How many games play at the same moment (worker processes, or CPUs)."""
        ...

    def submit(self, job: GameJob) -> None:
        """Start `job` (the caller keeps at most `slots` in flight)."""
        ...

    def wait(self, timeout: float | None) -> list[GameOutcome]:
        """Outcomes of finished games (empty if none finished within `timeout` seconds)."""
        ...

    def close(self) -> None:
        """Stop every worker; games still running are abandoned (never recorded)."""
        ...


def default_concurrency() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def make_backend(name: str, concurrency: int | None = None, address: str | None = None) -> Backend:
    """The backend called `name` ("local" or "ray"); UserError if it cannot start."""
    if name == "local":
        return LocalBackend(concurrency or default_concurrency())
    if name == "ray":
        return RayBackend(concurrency, address)
    raise UserError(f"unknown backend '{name}' (known: local, ray)")


# -- local: a pool of worker processes -------------------------------------------------------


def _exit_with_parent(parent: int) -> None:
    # A SIGKILLed driver cannot stop its workers; they notice they are orphans
    # and exit, so a killed tournament leaves no processes playing behind it.
    while True:
        time.sleep(_ORPHAN_CHECK_S)
        if os.getppid() != parent:
            os._exit(1)


def _worker_main(conn: multiprocessing.connection.Connection, blame: Any) -> None:
    """A worker process: play each job received on `conn`, send its outcome back."""
    # Ctrl-C reaches the whole process group; the driver decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="arena-orphan-check").start()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            close_agents()
            return
        outcome = play_job(job, blame)
        try:
            conn.send(outcome)
        except OSError:
            return


def _death_reason(exitcode: int | None, pid: int | None) -> str:
    if exitcode is None:
        how = "stopped answering"
    elif exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-exitcode}"
    else:
        how = f"exited with code {exitcode}"
    return f"worker process {pid} {how} during the game"


class _Worker:
    def __init__(self, ctx: Any):
        self.blame = ctx.RawValue("i", 0)
        self.conn, child = ctx.Pipe(duplex=True)
        # Not a daemon: an agent may start processes of its own (daemons cannot). The pool's
        # close() stops workers, and a worker whose driver died exits by itself.
        self.process = ctx.Process(target=_worker_main, args=(child, self.blame), daemon=False,
                                   name="arena-tournament-worker")
        self.process.start()
        child.close()  # only the worker holds its end: its death shows here as EOF
        self.jobs: deque[GameJob] = deque()  # sent, in order; the first is the one playing


class LocalBackend:
    """A pool of `concurrency` worker processes on this machine (forkserver where available)."""

    name = "local"

    def __init__(self, concurrency: int):
        methods = multiprocessing.get_all_start_methods()
        # forkserver: workers fork from a clean server with the game modules loaded,
        # so a new worker (after a death) starts in milliseconds, and no driver
        # state (threads, the store's connection) is inherited.
        method = "forkserver" if "forkserver" in methods else "spawn"
        self.ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            self.ctx.set_forkserver_preload(["tournaments.worker", "agents.registry",
                                             "games.registry", "agents.match"])
        self.processes = max(1, concurrency)
        self.workers: list[_Worker] = []

    @property
    def slots(self) -> int:
        return self.processes * PIPELINE_DEPTH

    @property
    def playing(self) -> int:
        return self.processes

    def submit(self, job: GameJob) -> None:
        for w in [w for w in self.workers if not w.jobs and not w.process.is_alive()]:
            w.conn.close()  # died while idle (killed from outside): replace it
            self.workers.remove(w)
        worker = next((w for w in self.workers if not w.jobs), None)
        if worker is None and len(self.workers) < self.processes:
            worker = _Worker(self.ctx)
            self.workers.append(worker)
        if worker is None:
            worker = min(self.workers, key=lambda w: len(w.jobs))
            if len(worker.jobs) >= PIPELINE_DEPTH:
                raise RuntimeError("every worker has its fill of games")
        worker.jobs.append(job)
        try:
            worker.conn.send(job)
        except OSError:  # it has died; the next wait reports its games
            pass

    def wait(self, timeout: float | None) -> list[GameOutcome]:
        busy = [w for w in self.workers if w.jobs]
        if not busy:
            return []
        handles: dict[Any, _Worker] = {}
        for w in busy:
            handles[w.conn] = w
            handles[w.process.sentinel] = w
        ready = multiprocessing.connection.wait(list(handles), timeout)
        outcomes: list[GameOutcome] = []
        for w in {id(handles[h]): handles[h] for h in ready}.values():
            outcomes += self._collect(w)
        return outcomes

    def _collect(self, w: _Worker) -> list[GameOutcome]:
        outcomes = []
        try:
            while w.jobs and w.conn.poll():
                outcomes.append(w.conn.recv())
                w.jobs.popleft()
        except (EOFError, OSError):
            pass
        else:
            if w.process.is_alive():
                return outcomes
        if w.process.is_alive():
            w.process.join(0.5)  # it closed its pipe, so it is on its way out
            if w.process.is_alive():
                return outcomes  # not gone yet; the next wait looks again
        # The worker died mid-game: void that game, naming whose code was running.
        w.process.join(1.0)
        seat = w.blame.value - 1
        if w.jobs:
            outcomes.append(GameOutcome(
                w.jobs.popleft().key, void_reason=_death_reason(w.process.exitcode, w.process.pid),
                blame=seat if seat >= 0 else None, worker=f"{w.process.pid}"))
        outcomes += [GameOutcome(job.key, void_reason="its worker died before starting it",
                                 unstarted=True) for job in w.jobs]
        w.conn.close()
        self.workers.remove(w)
        return outcomes

    def close(self) -> None:
        for w in self.workers:
            if not w.jobs:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            else:
                w.process.kill()  # abandon its game: it stays planned and is played on resume
        for w in self.workers:
            w.process.join(2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            w.conn.close()
        self.workers = []


# -- ray: tasks on a cluster -----------------------------------------------------------------


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the ray backend needs Ray: pip install 'arena[ray]' "
                        "(or use --backend local)") from None
    return ray


def _check_reachable(address: str) -> None:
    """UserError at once if a host:port address does not answer (Ray itself waits minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except OSError as exc:
        raise UserError(f"--address: cannot reach a Ray cluster at '{address}': "
                        f"{exc.strerror or exc}") from None


def _mentions_auth(exc: BaseException) -> bool:
    """True if `exc` or an exception behind it is about authentication (InvalidAuthToken)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{type(current).__name__} {current}".lower()
        if "unauthenticated" in text or ("auth" in text and "token" in text):
            return True
        current = current.__cause__ or current.__context__
    return False


def ray_init_error(exc: BaseException, address: str | None) -> UserError:
    """The one line for a failed ray.init; it names Ray's token settings when the cluster
    refused us for want of its token (Ray 2.52+ with RAY_AUTH_MODE=token)."""
    where = f"at '{address}'" if address else "locally"
    if _mentions_auth(exc):
        return UserError(f"--address: the Ray cluster {where} requires token authentication "
                         f"(InvalidAuthToken): set RAY_AUTH_MODE=token and the cluster's token "
                         f"in RAY_AUTH_TOKEN (or in a file named by RAY_AUTH_TOKEN_PATH; default "
                         f"~/.ray/auth_token), then run again")
    return UserError(f"--address: cannot reach a Ray cluster {where}: "
                     f"{' '.join(str(exc).split())}")


class RayBackend:
    """Each game a Ray task (one CPU) on the cluster at `address` (default: a local one).

    Ray's own retries are off (max_retries=0): a task whose worker dies comes
    back as a void outcome and the runner replays the game, counted like any
    other void. Ray cannot tell which seat's code killed a worker, so such
    deaths are not blamed on a participant.
    """

    name = "ray"

    def __init__(self, concurrency: int | None, address: str | None):
        ray = _ray()
        self.ray = ray
        self._started_here = False
        if not ray.is_initialized():
            if address:
                _check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as exc:
                raise ray_init_error(exc, address) from None
            self._started_here = True
        self._play = ray.remote(num_cpus=1, max_retries=0)(play_job)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # Tasks beyond the CPUs wait in Ray's queue, so a CPU never waits for the driver.
        self._playing = max(1, concurrency or cpus)
        self._slots = self._playing * PIPELINE_DEPTH
        self.pending: dict[Any, GameJob] = {}

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def playing(self) -> int:
        return self._playing

    def submit(self, job: GameJob) -> None:
        self.pending[self._play.remote(job)] = job

    def wait(self, timeout: float | None) -> list[GameOutcome]:
        if not self.pending:
            return []
        ray = self.ray
        ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        if ready:  # take every other game that has finished too
            ready, _ = ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        outcomes = []
        for ref in ready:
            job = self.pending.pop(ref)
            try:
                outcomes.append(ray.get(ref))
            except ray.exceptions.RayError as exc:
                text = " ".join(str(exc).split())[:300]
                outcomes.append(GameOutcome(job.key, void_reason=f"Ray task failed: "
                                                                 f"{type(exc).__name__}: {text}"))
        return outcomes

    def close(self) -> None:
        for ref in self.pending:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished or gone: nothing to stop
                pass
        self.pending = {}
        if self._started_here:
            self.ray.shutdown()

