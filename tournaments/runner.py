"""Plays a tournament to the end, and resumes it exactly where it stopped.

The runner (the driver) holds the tournament's lock, hands planned games to a
backend and is the only writer of the store. Each finished game is committed
at once, in the same transaction that marks its planned game done, so after a
crash at any moment (SIGKILL included) running the spec again plays exactly
the games still planned: none is lost, none is played twice.

Faults (see tournaments/worker.py for whose is whose):

- a forfeit (crash, illegal move, timeout) is a loss for that participant,
  stored with the reason;
- a harness fault voids the attempt and the game is played again, at most
  ``max_attempts`` times in all; after that it is recorded as void;
- a participant that crashes ``withdraw_after`` times in a row (a forfeit by
  raising or failing to load or start, or a worker death in its code) is
  withdrawn: its remaining games are recorded as *skipped*, not as forfeits,
  so they move nobody's rating; the games it did play stay.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from agents.match import MatchResult
from tournaments.store import Store
from tournaments import records
from tournaments.backends import Backend, default_concurrency, make_backend
from tournaments.lock import TournamentLock
from tournaments.ratings import LiveTable, sprt
from tournaments.records import GameRow, TournamentRecord
from tournaments.schedule import plan_swiss_round, total_games
from tournaments.spec import TournamentSpec, check_participants
from tournaments.worker import GameJob, GameOutcome, is_crash

#: Seconds the runner waits for a result before it reports progress anyway.
_WAIT_S = 0.5
#: Seconds between progress reports (the leader is recomputed for each).
_PROGRESS_EVERY_S = 0.1


class Progress(Protocol):
    """Where a run reports how it is going (the CLI's progress bar, a test's list)."""

    def begin(self, name: str, total: int, done: int, backend: str, slots: int) -> None: ...

    def update(self, done: int, total: int, rate: float, eta: float | None,
               leader: str | None) -> None: ...

    def message(self, text: str) -> None: ...

    def end(self) -> None: ...


class _Silent:
    def begin(self, *args: Any) -> None:
        pass

    def update(self, *args: Any) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass
class RunReport:
    """What one run of a tournament did, and where the tournament stands."""

    name: str
    backend: str
    total: int  # games in the whole tournament (if nobody withdraws)
    done: int  # games played and stored, over all runs
    skipped: int
    void: int
    played_now: int  # games this run stored
    voided_now: int  # attempts this run voided (and replayed or gave up)
    elapsed_s: float
    finished: bool
    withdrawn: list[str] = field(default_factory=list)
    stopped: str | None = None  # why it stopped early (SPRT)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_tournament(
    spec: TournamentSpec,
    settings: Any,
    *,
    source: str = "spec",
    backend: str | None = None,
    address: str | None = None,
    concurrency: int | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Play every game of `spec` still to play; the same call again resumes.

    `backend`, `address` and `concurrency` override the spec's. Raises
    UserError (nothing stored) for a participant that cannot be built, a spec
    that changed under the same name, or a tournament another runner holds.
    """
    spec = spec.with_defaults(settings.time_per_move, settings.max_moves)
    roster = settings.roster_refs()
    check_participants(spec, roster, source, build_limit=getattr(settings, "build_limit", None))
    backend_name = backend or spec.backend
    address = address or spec.address
    wanted = concurrency or spec.concurrency
    progress = progress or _Silent()
    with TournamentLock(settings.data_dir, spec.name):
        store = Store(settings.store_path)
        try:
            record = records.open_tournament(store, spec, source)
            if backend_name == "local":
                cores = default_concurrency()
                if wanted is not None and wanted > cores:  # asked for: honoured, with a warning
                    progress.message(f"concurrency {wanted} is more than the {cores} cores: "
                                     "games share cores, and one whose seat is starved of "
                                     "CPU is void and played again")
                wanted = wanted or cores
            runner = _Runner(store, record, roster, settings.data_dir, progress,
                             build_limit=getattr(settings, "build_limit", None))
            pool = make_backend(backend_name, wanted, address)
            try:
                return runner.run(pool)
            finally:
                pool.close()
        finally:
            store.close()


class _Runner:
    def __init__(self, store: Store, record: TournamentRecord, roster: dict[str, str],
                 data_dir: Any, progress: Progress, build_limit: float | None = None):
        self.store = store
        self.record = record
        self.spec = record.spec
        self.tid = record.id
        self.roster = roster
        self.data_dir = data_dir
        self.progress = progress
        self.build_limit = build_limit  # for user code: agents/isolation.py
        self.parts = {p.name: p for p in records.participants(store, self.tid)}
        self.live = LiveTable(self.spec.names, single_player=self.spec.format == "leaderboard")
        self.sprt_record = [0, 0, 0]  # first participant's wins, draws, losses
        for g in records.played_games(store, self.tid):
            self._count(g.seats, g.returns, [g.score(i) for i in range(len(g.seats))])
        self.total = total_games(self.spec)
        self.queue: deque[GameRow] = deque()
        self.in_flight: dict[str, GameRow] = {}
        self.stop_note: str | None = None
        self.played_now = 0
        self.voided_now = 0
        self.withdrawn_now: list[str] = []
        self.started = time.perf_counter()
        self.settled = self._settled(records.status_counts(store, self.tid))
        self._last_progress = 0.0
        self._check_sprt()  # an earlier run may have been killed just after deciding

    # -- the loop --

    def run(self, backend: Backend) -> RunReport:
        self.progress.begin(self.spec.name, self.total, self.settled, backend.name,
                            getattr(backend, "playing", backend.slots))
        try:
            while self.stop_note is None:
                self.queue = deque(records.games(self.store, self.tid, "planned"))
                if not self.queue:
                    if self.spec.format == "swiss" and self._plan_swiss_round():
                        continue
                    break
                self._play(backend)
            records.finish(self.store, self.tid, self.stop_note)
            self._update_progress(force=True)
        finally:
            self.progress.end()
        return self._report(backend.name)

    def _play(self, backend: Backend) -> None:
        while self.queue or self.in_flight:
            while (self.queue and len(self.in_flight) < backend.slots
                   and self.stop_note is None):
                row = self.queue.popleft()
                gone = [s for s in row.seats if self.parts[s].status == "withdrawn"]
                if gone:  # a game of a participant withdrawn in an earlier run
                    records.skip_game(self.store, self.tid, row.key,
                                      f"skipped: {gone[0]} was withdrawn")
                    self.settled += 1
                    continue
                backend.submit(self._job(row))
                self.in_flight[row.key] = row
            if not self.in_flight:
                return
            for outcome in backend.wait(_WAIT_S):
                row = self.in_flight.pop(outcome.key)
                if outcome.result is not None:
                    self._record(row, outcome.result)
                elif outcome.unstarted:
                    self.queue.appendleft(row)
                else:
                    self._void(row, outcome)
            self._update_progress()

    def _job(self, row: GameRow) -> GameJob:
        spec = self.spec
        return GameJob(key=row.key, game=spec.game, seats=list(row.seats),
                       agents=[self.parts[s].agent for s in row.seats], seed=row.seed,
                       time_per_move=spec.time_per_move, max_moves=spec.max_moves,
                       tag=self.record.tag, roster=self.roster, build_limit=self.build_limit)

    # -- results --

    def _record(self, row: GameRow, result: MatchResult) -> None:
        strikes = {}
        for seat, name in enumerate(row.seats):
            crashed = result.forfeit_player == seat and is_crash(result.forfeit_reason)
            strikes[name] = self.parts[name].strikes + 1 if crashed else 0
        note = None
        if result.forfeit_player is not None:
            note = f"{row.seats[result.forfeit_player]} forfeited: {result.forfeit_reason}"
        elif result.resign_player is not None:  # a loss, but no crash: strikes reset above
            note = f"{row.seats[result.resign_player]} resigned"
        withdrawals = {name: f"withdrawn after {n} crashes in a row (last: "
                             f"{result.forfeit_reason})"
                       for name, n in strikes.items()
                       if n >= self.spec.withdraw_after and self.parts[name].status == "active"}
        keep = set(self.in_flight)

        def in_same_transaction(conn: Any, match_id: int) -> None:
            records.mark_done(conn, self.tid, row.key, match_id, note)
            for name, n in strikes.items():
                if n != self.parts[name].strikes:
                    records.set_strikes(conn, self.tid, name, n)
            for name, why in withdrawals.items():
                skipped[name] = records.withdraw(conn, self.tid, name, why, keep)

        skipped: dict[str, int] = {}
        self.store.record(result, then=in_same_transaction)
        self.played_now += 1
        self.settled += 1 + sum(skipped.values())
        for name, n in strikes.items():
            self.parts[name] = replace(self.parts[name], strikes=n)
        for name, why in withdrawals.items():
            self._withdrawn(name, why)
        self._count(row.seats, result.returns,
                    [1.0 if o == "win" else 0.5 if o == "draw" else 0.0 for o in result.outcomes])
        self._check_sprt()
        self._write_sgf(result)

    def _void(self, row: GameRow, outcome: GameOutcome) -> None:
        self.voided_now += 1
        attempts = row.attempts + 1
        final = attempts >= self.spec.max_attempts
        blamed = (row.seats[outcome.blame]
                  if outcome.blame is not None and 0 <= outcome.blame < len(row.seats) else None)
        reason = outcome.void_reason or "the harness failed"
        if blamed is not None:
            reason += f" (in {blamed}'s code)"
        withdrawal = None
        if blamed is not None:
            n = self.parts[blamed].strikes + 1
            if n >= self.spec.withdraw_after and self.parts[blamed].status == "active":
                withdrawal = f"withdrawn after {n} crashes in a row (last: {reason})"
        keep = set(self.in_flight)
        with self.store.transaction() as conn:
            records.void_attempt(conn, self.tid, row.key, attempts, reason, final)
            if blamed is not None:
                records.set_strikes(conn, self.tid, blamed, n)
                if withdrawal is not None:
                    self.settled += records.withdraw(conn, self.tid, blamed, withdrawal, keep)
        self.settled += final
        if blamed is not None:
            self.parts[blamed] = replace(self.parts[blamed], strikes=n)
        what = " vs ".join(row.seats)
        if final:
            self.progress.message(f"game {row.ordinal + 1} ({what}) is void after {attempts} "
                                  f"failed attempts: {reason}")
        elif withdrawal is None:
            self.progress.message(f"game {row.ordinal + 1} ({what}) voided, playing it again: "
                                  f"{reason}")
            self.queue.appendleft(replace(row, attempts=attempts))
        if withdrawal is not None:
            self._withdrawn(blamed, withdrawal)

    def _withdrawn(self, name: str, why: str) -> None:
        self.parts[name] = replace(self.parts[name], status="withdrawn", note=why)
        self.queue = deque(r for r in self.queue if name not in r.seats)
        self.withdrawn_now.append(name)
        self.progress.message(f"{name} {why}; its remaining games are skipped")

    def _count(self, seats: list[str], returns: list[float], scores: list[float]) -> None:
        self.live.record(seats, returns)
        if self.spec.sprt is not None and len(seats) == 2:
            first = self.spec.names[0]
            score = scores[seats.index(first)]
            self.sprt_record[0 if score == 1.0 else 1 if score == 0.5 else 2] += 1

    def _check_sprt(self) -> None:
        s = self.spec.sprt
        if s is None or self.stop_note is not None:
            return
        state = sprt(*self.sprt_record, s.elo0, s.elo1, s.alpha, s.beta)
        if state.decision is not None:
            self.stop_note = f"stopped early: {state.describe(s.elo0, s.elo1)}"
            self.progress.message(self.stop_note)

    def _write_sgf(self, result: MatchResult) -> None:
        from games.registry import go_size, resolve_game
        from tournaments.recording import write_match_sgf

        if go_size(result.game) is None:
            return
        try:
            write_match_sgf(result, self.data_dir, resolve_game(result.game))
        except (OSError, ValueError) as exc:  # the store has the game; export can redo the file
            self.progress.message(f"could not write the SGF of match {result.match_id}: {exc}")

    # -- swiss --

    def _plan_swiss_round(self) -> bool:
        """Plan the next swiss round; False when every round is planned (or too few remain)."""
        rows = records.games(self.store, self.tid)
        next_round = max((r.round for r in rows), default=-1) + 1
        active = [n for n in self.spec.names if self.parts[n].status == "active"]
        if next_round >= self.spec.swiss_rounds() or len(active) < 2:
            return False
        points = dict.fromkeys(self.spec.names, 0.0)
        met: set[frozenset[str]] = set()
        had_bye: set[str] = set()
        for r in rows:
            if r.status == "bye":
                had_bye.add(r.seats[0])
                points[r.seats[0]] += self.spec.games_per_pairing
            else:
                met.add(frozenset(r.seats))
        for g in records.played_games(self.store, self.tid):
            for seat, name in enumerate(g.seats):
                points[name] += g.score(seat)
        planned = plan_swiss_round(self.spec, next_round, points, met, had_bye, active)
        records.add_round(self.store, self.tid, planned)
        self.progress.message(f"round {next_round + 1} of {self.spec.swiss_rounds()} paired")
        return True

    # -- reporting --

    @staticmethod
    def _settled(counts: dict[str, int]) -> int:
        return counts.get("done", 0) + counts.get("skipped", 0) + counts.get("void", 0)

    def _update_progress(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < _PROGRESS_EVERY_S:
            return
        self._last_progress = now
        settled = self.settled
        elapsed = now - self.started
        rate = self.played_now / elapsed if elapsed > 0 else 0.0
        remaining = max(0, self.total - settled)
        eta = remaining / rate if rate > 0 else None
        active = [n for n, p in self.parts.items() if p.status == "active"]
        self.progress.update(settled, self.total, rate, eta, self.live.leader(active))

    def _report(self, backend: str) -> RunReport:
        counts = records.status_counts(self.store, self.tid)
        finished = records.get_tournament(self.store, self.spec.name)
        return RunReport(
            name=self.spec.name, backend=backend, total=self.total, done=counts.get("done", 0),
            skipped=counts.get("skipped", 0), void=counts.get("void", 0),
            played_now=self.played_now, voided_now=self.voided_now,
            elapsed_s=time.perf_counter() - self.started,
            finished=bool(finished and finished.finished_at), withdrawn=self.withdrawn_now,
            stopped=self.stop_note)

