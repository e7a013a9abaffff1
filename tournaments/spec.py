"""A tournament's YAML file -> a validated TournamentSpec.

Anything wrong in the file is a UserError with one line that names the file,
the field and the bad value, e.g.
``tournaments/x.yaml: field 'games_per_pairing': input should be greater than or equal to 1 (got 0)``.

Participants are agent references (``mcts:sims=200``), each then named by its
reference, or mappings ``{name: uct, agent: "mcts:sims=200"}``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from games.errors import UserError, shown

M = TypeVar("M", bound=BaseModel)

FORMATS = ("round-robin", "gauntlet", "swiss", "leaderboard")

#: The fields that fix the schedule and how every game is played. A stored
#: tournament resumed with any of them changed is refused; the rest (concurrency,
#: backend, address, anchor, max_attempts, withdraw_after) may change between runs.
SCHEDULE_FIELDS = ("game", "format", "participants", "games_per_pairing", "rounds",
                   "challengers", "time_per_move", "max_moves", "seed", "sprt")

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

#: The most games one tournament plans (every pairing's games, every round's).
MAX_GAMES = 1_000_000
#: The most participants, swiss rounds, and voided attempts at one game.
MAX_PARTICIPANTS = 1_000
MAX_ROUNDS = 10_000
MAX_ATTEMPTS = 100
#: The most games at once (local processes or Ray tasks).
MAX_CONCURRENCY = 1_024


# -- spec files (a tournament's and a league's alike) ----------------------------------------


def read_yaml(path: Path, what: str) -> Any:
    """The parsed YAML in the file at `path`; UserError with the line and column if it is bad.

    `what` is the word a message uses for the spec ("tournament" or "league").
    At most 16 MB is read (an endless file is refused after that), and aliases
    are limited (games/inputs.py), so no spec can exhaust memory.
    """
    from games.inputs import load_yaml, read_text_bounded

    try:
        text = read_text_bounded(path, "YAML")
    except FileNotFoundError:
        raise UserError(f"{what} spec '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: invalid YAML{where}: {problem}") from None


def resolve_spec_game(name: str, source: str) -> Any:
    """The game called `name` (games.registry); a UserError naming `source`'s field if unknown."""
    from games.registry import resolve_game

    try:
        return resolve_game(name)
    except UserError as exc:
        raise UserError(f"{source}: field 'game': {exc}") from None


class SpecFiles(Generic[M]):
    """How one kind of spec file is read: a YAML mapping validated as `model`, then
    checked by `check(spec, source)` (against the game, Arena's limits, ...).

    Not a mapping, or a field that fails, is a UserError naming the source and the
    first bad field (in `describe`'s words); `fields` lists the expected ones.
    """

    def __init__(self, model: type[M], what: str, fields: str,
                 describe: Callable[[dict[str, Any]], str],
                 check: Callable[[M, str], M]):
        self.model, self.what, self.fields = model, what, fields
        self.describe, self.check = describe, check

    def parse(self, data: Any, source: str, default_name: str | None = None) -> M:
        """A validated spec from already-parsed YAML `data` (named `default_name` if it has
        no name); UserError naming `source` if bad."""
        if not isinstance(data, dict):
            raise UserError(f"{source}: expected a mapping of fields ({self.fields}), "
                            f"got {type(data).__name__}")
        if "name" not in data and default_name is not None:
            data = {"name": default_name, **data}
        try:
            spec = self.model.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"{source}: {self.describe(exc.errors()[0])}") from None
        return self.check(spec, source)

    def load(self, path: str | Path) -> M:
        """The spec in the YAML file at `path` (its name defaults to the file's stem)."""
        path = Path(path)
        return self.parse(read_yaml(path, self.what), str(path), default_name=path.stem)


def plain_references(value: Any) -> Any:
    """A bare agent reference names itself: "mcts:sims=200" -> {name: ..., agent: ...}."""
    if isinstance(value, list):
        return [{"name": v, "agent": v} if isinstance(v, str) else v for v in value]
    return value


def fingerprint(fields: dict[str, Any]) -> str:
    """sha256 of `fields` as canonical JSON: equal fingerprints mean equal fields."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class StoredSpec(BaseModel):
    """What a tournament's and a league's spec share: their first fields (name, game), the
    fields that fix what is stored (`FIXED`; resuming with any of them changed is refused),
    their fingerprint, and the clock and move cap that arena.toml fills in."""

    model_config = ConfigDict(extra="forbid")
    #: Declared by each spec. Its clock fields (time_per_move, max_moves) are its own,
    #: so that their place in its field order (and so in its error order) stays its own.
    FIXED: ClassVar[tuple[str, ...]] = ()

    name: str = Field(pattern=NAME_PATTERN)
    game: str = Field(min_length=1)

    def fixed_fields(self) -> dict[str, Any]:
        """The `FIXED` fields, as plain JSON values."""
        data = self.model_dump(mode="json", by_alias=True)
        return {k: data[k] for k in self.FIXED}

    def fingerprint(self) -> str:
        """sha256 of `fixed_fields`: equal fingerprints mean the same tournament or league."""
        return fingerprint(self.fixed_fields())

    def with_defaults(self, time_per_move: float | None, max_moves: int | None) -> Self:
        """This spec with the clock and move cap filled in from the settings where it has none."""
        return self.model_copy(update={
            "time_per_move": self.time_per_move if self.time_per_move is not None
            else time_per_move,
            "max_moves": self.max_moves if self.max_moves is not None else max_moves,
        })


class Participant(BaseModel):
    """One entrant: the name it goes by in this tournament, and its agent reference."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    agent: str = Field(min_length=1)


class SprtSpec(BaseModel):
    """Stop a head-to-head match early once the SPRT decides: H0 elo <= elo0 vs H1 elo >= elo1."""

    model_config = ConfigDict(extra="forbid")

    elo0: float = Field(default=0.0, allow_inf_nan=False, strict=True)
    elo1: float = Field(default=10.0, allow_inf_nan=False, strict=True)
    alpha: float = Field(default=0.05, gt=0, lt=0.5, strict=True)
    beta: float = Field(default=0.05, gt=0, lt=0.5, strict=True)


class TournamentSpec(StoredSpec):
    """What a tournament file holds (after `load_spec`, also checked against the game)."""

    FIXED: ClassVar[tuple[str, ...]] = SCHEDULE_FIELDS

    participants: list[Participant] = Field(min_length=1)
    format: Literal["round-robin", "gauntlet", "swiss", "leaderboard"] = "round-robin"
    #: Games per pairing, colours alternating; single-player: episodes per participant.
    games_per_pairing: int = Field(default=2, ge=1, strict=True)
    #: Swiss only; default ceil(log2 n) + 1.
    rounds: int | None = Field(default=None, ge=1, strict=True)
    #: Gauntlet: the first `challengers` participants each play every other participant
    #: (and not one another); 1 is the classic gauntlet, the first against all others.
    challengers: int = Field(default=1, ge=1, strict=True)
    # Strict numbers: `max_moves: true` is no move cap of 1. Upper limits: `check_limits`.
    time_per_move: float | None = Field(default=None, gt=0, strict=True)  # default from arena.toml
    max_moves: int | None = Field(default=None, gt=0, strict=True)  # default from arena.toml
    seed: int = Field(default=0, strict=True)  # game g of a pairing uses seed + g: 0..2**63-1
    #: Default: the cores (local), the CPUs (ray).
    concurrency: int | None = Field(default=None, ge=1, strict=True)
    backend: Literal["local", "ray"] = "local"
    address: str | None = None  # a Ray cluster's address (ray backend)
    anchor: str | None = None  # a participant whose Elo is 0; default: the mean is 0
    sprt: SprtSpec | None = None
    #: A voided game is played at most this often.
    max_attempts: int = Field(default=3, ge=1, strict=True)
    #: Crashes in a row that withdraw a participant.
    withdraw_after: int = Field(default=3, ge=1, strict=True)

    @field_validator("participants", mode="before")
    @classmethod
    def _plain_references(cls, value: Any) -> Any:
        return plain_references(value)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.participants]

    @property
    def single_player(self) -> bool:
        return self.format == "leaderboard"

    def swiss_rounds(self) -> int:
        """Rounds of a swiss tournament: `rounds`, else ceil(log2 n) + 1."""
        n = len(self.participants)
        return self.rounds or max(1, math.ceil(math.log2(max(n, 2)))) + 1

    def schedule_fields(self) -> dict[str, Any]:
        """The fields that fix the schedule and the games, as plain JSON values."""
        return self.fixed_fields()


def describe_error(error: dict[str, Any]) -> str:
    """A pydantic error of a spec's field in one line: the field, the problem, the value."""
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown field '{location}'"
    if error["type"] == "missing":
        return f"field '{location}' is missing"
    message = error["msg"]
    if error["type"] == "string_pattern_mismatch" and location == "name":
        message = "should be letters, digits, '_', '.' or '-' (at most 64, no spaces)"
    got = shown(error.get("input"))
    return f"field '{location}': {message[0].lower()}{message[1:]} (got {got})"


def check_number(source: str, field: str, value: Any, low: float, high: float,
                 what: str = "a tournament") -> None:
    """UserError naming `source` and `field` unless low <= value <= high (None passes)."""
    if value is None or low <= value <= high:
        return
    bound = f"below {low:,}" if value < low else f"above {high:,}"
    most = "the least" if value < low else "the most"
    raise UserError(f"{source}: field '{field}': {shown(value)} is {bound}, {most} {what} takes")


def check_seed(source: str, seed: int, offset: int, why: str) -> None:
    """UserError unless 0 <= seed and seed + offset <= MAX_SEED (the store's largest INTEGER)."""
    from games.inputs import MAX_SEED

    if seed < 0:
        raise UserError(f"{source}: field 'seed': {shown(seed)} is negative; seeds are "
                        f"0..{MAX_SEED} (2**63-1)")
    if seed + offset > MAX_SEED:
        raise UserError(f"{source}: field 'seed': {shown(seed)} is above {MAX_SEED - offset}, "
                        f"the largest seed here ({why}; seeds go up to 2**63-1)")


def check_limits(spec: TournamentSpec, source: str) -> None:
    """UserError for a spec beyond Arena's limits, before anything is planned or stored."""
    from games.inputs import MAX_TIME_PER_MOVE

    check_number(source, "participants", len(spec.participants), 1, MAX_PARTICIPANTS)
    check_number(source, "games_per_pairing", spec.games_per_pairing, 1, MAX_GAMES)
    check_number(source, "rounds", spec.rounds, 1, MAX_ROUNDS)
    check_number(source, "challengers", spec.challengers, 1, MAX_PARTICIPANTS)
    check_number(source, "concurrency", spec.concurrency, 1, MAX_CONCURRENCY)
    check_number(source, "max_attempts", spec.max_attempts, 1, MAX_ATTEMPTS)
    check_number(source, "withdraw_after", spec.withdraw_after, 1, MAX_GAMES)
    if spec.time_per_move is not None and not spec.time_per_move <= MAX_TIME_PER_MOVE:
        raise UserError(f"{source}: field 'time_per_move': {shown(spec.time_per_move)} is above "
                        f"{MAX_TIME_PER_MOVE:g} seconds (a day), the longest time per move")
    check_seed(source, spec.seed, spec.games_per_pairing - 1,
               f"game g of a pairing uses seed + g, g < {spec.games_per_pairing:,}")


def _check_against_game(spec: TournamentSpec, source: str) -> TournamentSpec:
    check_limits(spec, source)
    game = resolve_spec_game(spec.game, source)
    names = spec.names
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise UserError(f"{source}: field 'participants.{i}.name': '{name}' is already the "
                            f"name of participant {names.index(name)}; give each a distinct name")
    n = len(names)
    if game.players == 1:
        if spec.format not in ("round-robin", "leaderboard"):
            raise UserError(f"{source}: field 'format': '{spec.format}' needs a two-player game; "
                            f"'{game.id}' is single-player (use leaderboard)")
        spec = spec.model_copy(update={"format": "leaderboard"})
    elif game.players == 2:
        if spec.format == "leaderboard":
            raise UserError(f"{source}: field 'format': 'leaderboard' is for single-player games; "
                            f"'{game.id}' has two players (use round-robin, gauntlet or swiss)")
        if n < 2:
            raise UserError(f"{source}: field 'participants': a {spec.format} tournament needs at "
                            f"least 2 participants (got {n})")
    else:
        raise UserError(f"{source}: field 'game': tournaments are for one- or two-player games; "
                        f"'{game.id}' has {game.players} players")
    if spec.rounds is not None and spec.format != "swiss":
        raise UserError(f"{source}: field 'rounds': only swiss tournaments have rounds "
                        f"(format is '{spec.format}')")
    if spec.challengers != 1 and spec.format != "gauntlet":
        raise UserError(f"{source}: field 'challengers': only gauntlets have challengers "
                        f"(format is '{spec.format}')")
    if spec.format == "gauntlet" and spec.challengers >= n:
        raise UserError(f"{source}: field 'challengers': the first {spec.challengers} "
                        f"participants leave no opponents among {n} (got {spec.challengers})")
    if spec.anchor is not None and spec.anchor not in names:
        raise UserError(f"{source}: field 'anchor': '{spec.anchor}' is not a participant "
                        f"(participants: {', '.join(names)})")
    from tournaments.schedule import total_games  # it imports this module

    total = total_games(spec)
    if total > MAX_GAMES:
        raise UserError(f"{source}: field 'games_per_pairing': {spec.games_per_pairing:,} games "
                        f"per pairing make {total:,} games in this {spec.format} of {n} "
                        f"participants; a tournament plays at most {MAX_GAMES:,}")
    if spec.sprt is not None:
        if game.players != 2 or n != 2 or spec.format == "swiss":
            raise UserError(f"{source}: field 'sprt': the SPRT stops head-to-head matches; it needs "
                            f"exactly 2 participants in a round-robin or gauntlet (got {n})")
        if spec.sprt.elo1 <= spec.sprt.elo0:
            raise UserError(f"{source}: field 'sprt.elo1': must be above elo0 "
                            f"({spec.sprt.elo0:g}) (got {spec.sprt.elo1:g})")
    return spec


#: Tournament files: ``parse_spec(data, source, default_name=None)`` validates parsed
#: YAML, ``load_spec(path)`` reads a file (its name defaults to the file's stem).
TOURNAMENT_FILES = SpecFiles(TournamentSpec, "tournament", "name, game, participants, ...",
                             describe_error, _check_against_game)
parse_spec = TOURNAMENT_FILES.parse
load_spec = TOURNAMENT_FILES.load


def check_participants(spec: TournamentSpec, roster: dict[str, str], source: str,
                       build_limit: float | None = None) -> None:
    """Build every participant's agent once, so a bad reference fails before any game.

    User code (file agents, plugins) is not built here: its file is imported and its class
    and parameters checked in a child process, for at most the build limit each
    (agents/isolation.py), so it can never hang or kill the driver; an ``__init__`` that
    fails is that participant's forfeit ("failed to load") in its games.

    Raises UserError naming the file, the participant's field and the reference.
    """
    from agents.isolation import check_references, is_user_code
    from agents.registry import check_game, make_agent
    from games.registry import resolve_game

    game = resolve_game(spec.game)
    user = [i for i, p in enumerate(spec.participants) if is_user_code(p.agent, roster)]
    try:
        infos = check_references([spec.participants[i].agent for i in user], roster, build_limit)
    except UserError as exc:
        i = user[getattr(exc, "index", 0)]
        raise UserError(f"{source}: field 'participants.{i}.agent': {exc}") from None
    for i, info in zip(user, infos):
        if info.get("needs_state") and not game.has_state:
            raise UserError(f"{source}: field 'participants.{i}.agent': "
                            f"'{spec.participants[i].agent}' searches the game's rules; "
                            f"'{game.id}' has no search state")
    for i, p in enumerate(spec.participants):
        if i in user:
            continue
        try:
            agent = make_agent(p.agent, roster)
        except UserError as exc:
            raise UserError(f"{source}: field 'participants.{i}.agent': {exc}") from None
        try:
            if getattr(agent, "needs_state", False) and not game.has_state:
                raise UserError(f"{source}: field 'participants.{i}.agent': '{p.agent}' searches "
                                f"the game's rules; '{game.id}' has no search state")
            try:
                check_game(agent, game, p.agent)
            except UserError as exc:
                raise UserError(f"{source}: field 'participants.{i}.agent': {exc}") from None
        finally:
            agent.close()
