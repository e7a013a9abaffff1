"""A league's YAML file -> a validated LeagueSpec.

A league trains its main learners by self-play round after round, freezes
snapshots of them, and rates every snapshot by evaluation games against earlier
snapshots and fixed references (see tournaments/league/runner.py). Anything wrong in
the file is a UserError with one line naming the file, the field and the bad
value, as for tournament specs.

```yaml
name: connect4-league
game: connect4
learners:
  - {name: az, algo: alphazero, preset: connect4, set: {channels: 32, sims: 32}}
references: [random, greedy, "mcts:sims=200"]
rounds: 8
steps_per_round: 4000
games_per_round: 24
pfsp: variance
```
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from games.errors import UserError, shown
from tournaments.spec import (
    MAX_CONCURRENCY,
    MAX_GAMES,
    MAX_PARTICIPANTS,
    MAX_ROUNDS,
    Participant,
    SpecFiles,
    StoredSpec,
    check_number,
    check_seed,
    describe_error,
    plain_references,
    resolve_spec_game,
)

#: The fields that fix how the learners train and which games are played. A
#: stored league resumed with any of them changed is refused; `rounds` may grow
#: (more rounds continue the league) and `concurrency`, `device` and `threads` may change.
LEAGUE_FIELDS = ("game", "learners", "references", "anchor", "steps_per_round", "snapshot_every",
                 "games_per_round", "pfsp", "pfsp_exponent", "pool_size", "time_per_move",
                 "max_moves", "seed")

#: Snapshot names are `<learner>-r<round>`; learner names must leave room for that.
LEARNER_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"


class LearnerSpec(BaseModel):
    """A main learner: trained every round, snapshotted and rated."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=LEARNER_PATTERN)
    algo: str = Field(min_length=1)
    preset: str | None = None  # default: the algorithm's preset for the game
    overrides: dict[str, Any] = Field(default_factory=dict, alias="set")


class LeagueSpec(StoredSpec):
    """What a league file holds (after `load_league_spec`, also checked against the game)."""

    FIXED: ClassVar[tuple[str, ...]] = LEAGUE_FIELDS

    learners: list[LearnerSpec] = Field(min_length=1)
    #: Fixed opponents: agent references (each named by itself) or {name, agent}.
    references: list[Participant] = Field(min_length=1)
    #: The reference whose Elo is 0 (default: the first one).
    anchor: str | None = None
    # Strict numbers (`rounds: true` is no 1); upper limits: `_check_limits`.
    rounds: int = Field(default=8, ge=1, strict=True)
    steps_per_round: int = Field(default=2000, ge=1, strict=True)  # the learner's own steps
    #: Freeze (and evaluate) every this many rounds.
    snapshot_every: int = Field(default=1, ge=1, strict=True)
    #: Evaluation games of each new snapshot.
    games_per_round: int = Field(default=20, ge=1, strict=True)
    #: Prioritized fictitious self-play weight of an opponent the snapshot beats with
    #: probability p: hard (1 - p)^k, variance p (1 - p), linear 1 - p.
    pfsp: Literal["hard", "variance", "linear"] = "variance"
    pfsp_exponent: float = Field(default=2.0, gt=0, le=100, strict=True)  # k of `hard`
    pool_size: int = Field(default=8, ge=1, strict=True)  # the newest snapshots that may be drawn
    time_per_move: float | None = Field(default=None, gt=0, strict=True)  # default from arena.toml
    max_moves: int | None = Field(default=None, gt=0, strict=True)  # default from arena.toml
    seed: int = Field(default=0, strict=True)  # learner i trains with seed + 1000 (i + 1)
    device: str = "auto"  # for training: auto (cuda when present), cpu or cuda
    concurrency: int | None = Field(default=None, ge=1, strict=True)  # evaluation games at once
    #: torch's CPU threads in the league's own process (training, and games played in it
    #: at concurrency 1); default: torch's choice. 1 is best on a busy or small machine.
    threads: int | None = Field(default=None, ge=1, strict=True)

    @field_validator("references", mode="before")
    @classmethod
    def _plain_references(cls, value: Any) -> Any:
        return plain_references(value)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda"):
            raise ValueError("should be auto, cpu or cuda")
        return value

    @property
    def reference_names(self) -> list[str]:
        return [r.name for r in self.references]

    @property
    def anchor_name(self) -> str:
        """The reference rated 0."""
        return self.anchor or self.references[0].name

    def league_fields(self) -> dict[str, Any]:
        """The fields that fix training and the games, as plain JSON values."""
        return self.fixed_fields()


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    got = shown(error.get("input"))  # a value of any length: the line stays short
    if error["type"] == "string_pattern_mismatch" and location.endswith("name") and "learners" in location:
        return (f"field '{location}': should be a letter then letters, digits or '_' "
                f"(at most 32) (got {got})")
    if error["type"] == "value_error":
        return f"field '{location}': {error['msg'].removeprefix('Value error, ')} (got {got})"
    return describe_error(error)


#: The most rounds' evaluation games (rounds x games_per_round) and training steps a league plans.
MAX_LEAGUE_GAMES = MAX_GAMES
MAX_STEPS_PER_ROUND = 10**12
MAX_LEARNERS = 100


def _check_limits(spec: LeagueSpec, source: str) -> None:
    """UserError for a league beyond Arena's limits, before anything is trained or stored."""
    from games.inputs import MAX_TIME_PER_MOVE

    def check(field: str, value: Any, high: float) -> None:
        check_number(source, field, value, 1, high, "a league")

    check("learners", len(spec.learners), MAX_LEARNERS)
    check("references", len(spec.references), MAX_PARTICIPANTS)
    check("rounds", spec.rounds, MAX_ROUNDS)
    check("steps_per_round", spec.steps_per_round, MAX_STEPS_PER_ROUND)
    check("snapshot_every", spec.snapshot_every, MAX_ROUNDS)
    check("games_per_round", spec.games_per_round, MAX_LEAGUE_GAMES)
    check("pool_size", spec.pool_size, MAX_ROUNDS)
    check("concurrency", spec.concurrency, MAX_CONCURRENCY)
    check("threads", spec.threads, MAX_CONCURRENCY)
    if spec.time_per_move is not None and not spec.time_per_move <= MAX_TIME_PER_MOVE:
        raise UserError(f"{source}: field 'time_per_move': {spec.time_per_move:g} is above "
                        f"{MAX_TIME_PER_MOVE:g} seconds (a day), the longest time per move")
    total = spec.rounds * spec.games_per_round * len(spec.learners)
    if total > MAX_LEAGUE_GAMES:
        raise UserError(f"{source}: field 'games_per_round': {spec.games_per_round:,} games in "
                        f"each of {spec.rounds:,} rounds for {len(spec.learners)} learner(s) make "
                        f"{total:,} games; a league plays at most {MAX_LEAGUE_GAMES:,}")
    check_seed(source, spec.seed, 1000 * len(spec.learners),
               "learner i trains with seed + 1000 (i + 1)")


def _check(spec: LeagueSpec, source: str) -> LeagueSpec:
    from agents.algorithms import ALGOS, algo_name

    _check_limits(spec, source)
    game = resolve_spec_game(spec.game, source)
    if game.players != 2:
        raise UserError(f"{source}: field 'game': a league is for two-player games; "
                        f"'{game.id}' has {game.players} player(s)")
    taken: dict[str, str] = {}
    for i, learner in enumerate(spec.learners):
        try:
            algo_name(learner.algo)
        except UserError:
            raise UserError(f"{source}: field 'learners.{i}.algo': unknown algorithm "
                            f"'{learner.algo}' (known: {', '.join(sorted(ALGOS))})") from None
        if learner.name in taken:
            raise UserError(f"{source}: field 'learners.{i}.name': '{learner.name}' is already "
                            f"the name of {taken[learner.name]}; give each a distinct name")
        taken[learner.name] = f"learner {i}"
    for i, ref in enumerate(spec.references):
        if ref.name in taken:
            raise UserError(f"{source}: field 'references.{i}.name': '{ref.name}' is already "
                            f"the name of {taken[ref.name]}; give each a distinct name")
        taken[ref.name] = f"reference {i}"
    if spec.anchor is not None and spec.anchor not in spec.reference_names:
        raise UserError(f"{source}: field 'anchor': '{spec.anchor}' is not a reference "
                        f"(references: {', '.join(spec.reference_names)})")
    if spec.snapshot_every > spec.rounds:
        raise UserError(f"{source}: field 'snapshot_every': {spec.snapshot_every} rounds between "
                        f"snapshots leaves none in {spec.rounds} rounds")
    return spec.model_copy(update={"game": game.id}) if hasattr(game, "id") else spec


#: League files: ``parse_league_spec(data, source, default_name=None)`` validates parsed
#: YAML, ``load_league_spec(path)`` reads a file (its name defaults to the file's stem).
LEAGUE_FILES = SpecFiles(LeagueSpec, "league", "name, game, learners, references, ...",
                         _describe, _check)
parse_league_spec = LEAGUE_FILES.parse
load_league_spec = LEAGUE_FILES.load


def check_league(spec: LeagueSpec, roster: dict[str, str], source: str) -> None:
    """Build every reference and each learner's config once, so bad input fails before training.

    Raises UserError naming the file, the field and the bad value.
    """
    from agents.registry import make_agent

    for i, ref in enumerate(spec.references):
        try:
            agent = make_agent(ref.agent, roster)
        except UserError as exc:
            raise UserError(f"{source}: field 'references.{i}.agent': {exc}") from None
        agent.close()
    from tournaments.league.runner import learner_config

    for i, learner in enumerate(spec.learners):
        try:
            learner_config(spec, learner)
        except UserError as exc:
            raise UserError(f"{source}: field 'learners.{i}': {exc}") from None
