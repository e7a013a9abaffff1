"""arena.toml -> validated settings, with one clear error line on bad input.

Where the file is looked for: ``--config PATH``, then ``$ARENA_CONFIG``, then
``./arena.toml``. With none, the defaults hold. A relative data_dir or runs_dir
is taken relative to the file that names it (with no file, to the current
directory). ``$ARENA_DATA_DIR`` overrides data_dir.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from games.errors import UserError, shown
from games.inputs import MAX_TIME_PER_MOVE, read_text_bounded

#: Roster names that would hide a built-in agent or a kind of reference (make_agent tries
#: the roster first, so `[roster.random]` would silently replace the built-in random).
RESERVED_NAMES = ("random", "human", "greedy", "mcts", "gnugo", "gtp", "alphazero", "alphago")


class RosterEntry(BaseModel):
    """A named agent: an agent reference and what it is."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1)
    description: str = ""


class Settings(BaseModel):
    """What arena.toml holds."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("~/.local/share/arena")
    runs_dir: Path = Path("runs")  # where `arena train` puts runs and the Training screen looks
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # torch threads per process: "auto" is Arena's policy (agents/threads.py), or a number
    threads: Literal["auto"] | int = "auto"
    time_per_move: float | None = Field(default=30.0, gt=0, le=MAX_TIME_PER_MOVE, strict=True)
    max_moves: int = Field(default=10_000, gt=0, strict=True)  # strict: true is no move cap
    # Seconds user code (file agents, plugins) may take to be built or to start a game, at
    # least (a longer time_per_move raises it); past it its process is killed. None is
    # agents/isolation.py's BUILD_LIMIT_S (30 s).
    build_limit: float | None = Field(default=None, gt=0, le=MAX_TIME_PER_MOVE,
                                      allow_inf_nan=False)
    roster: dict[str, RosterEntry | str] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)

    @field_validator("threads", mode="before")
    @classmethod
    def _threads(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                               and 0 < value <= 1024):
            return value
        raise ValueError('must be "auto" or a whole number 1..1024')

    @field_validator("roster")
    @classmethod
    def _no_shadowing(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            base = name.partition(":")[0]
            if base in RESERVED_NAMES or ":" in name:
                what = (f"the built-in agent '{base}'" if base in RESERVED_NAMES[:5]
                        else f"the '{base}:' references" if base in RESERVED_NAMES
                        else "an agent reference with parameters")
                raise ValueError(f"roster name {name!r} would hide {what}; pick another name")
        return value

    def roster_refs(self) -> dict[str, str]:
        """Roster name -> agent reference."""
        return {name: e if isinstance(e, str) else e.agent for name, e in self.roster.items()}

    @property
    def store_path(self) -> Path:
        return self.data_dir / "arena.db"


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]
                        if part not in ("RosterEntry", "str", "float", "int"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown field '{location}'"
    value = error.get("input")
    if location == "roster" and "would hide" in message:  # the message names the bad key
        return f"field 'roster': {message}"
    return f"field '{location}': {message[0].lower()}{message[1:]} (got {shown(value)})"


def load_settings(path: str | Path | None = None) -> Settings:
    """The settings from `path` (or the usual places); UserError if the file is bad."""
    explicit = path is not None or "ARENA_CONFIG" in os.environ
    candidate = Path(path if path is not None else os.environ.get("ARENA_CONFIG", "arena.toml"))
    if not candidate.exists():
        if explicit:
            raise UserError(f"config file '{candidate}' does not exist")
        settings = Settings()
    else:
        try:
            data = tomllib.loads(read_text_bounded(candidate, "arena.toml"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{candidate}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{candidate}: cannot read: {exc}") from None
        except (ValueError, RecursionError) as exc:  # an integer too long to convert, ...
            raise UserError(f"{candidate}: invalid TOML: {type(exc).__name__}: {exc}") from None
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"{candidate}: {_describe(exc.errors()[0])}") from None
        settings.source = candidate
        if not settings.data_dir.expanduser().is_absolute():
            settings.data_dir = candidate.resolve().parent / settings.data_dir
        if not settings.runs_dir.expanduser().is_absolute():
            settings.runs_dir = candidate.resolve().parent / settings.runs_dir
        runs_dir = settings.runs_dir.expanduser()
        if runs_dir.exists() and not runs_dir.is_dir():
            raise UserError(f"{candidate}: field 'runs_dir': '{runs_dir}' is not a directory")
    override = os.environ.get("ARENA_DATA_DIR")
    if override:
        settings.data_dir = Path(override)
    settings.data_dir = settings.data_dir.expanduser()
    _check_data_dir(settings.data_dir, "ARENA_DATA_DIR" if override else
                    f"{settings.source}: field 'data_dir'" if settings.source else "data_dir")
    settings.runs_dir = settings.runs_dir.expanduser()
    return settings


def _check_data_dir(data_dir: Path, named: str) -> None:
    """UserError if `data_dir`, or the nearest of its parents that exists, is not a directory."""
    for candidate in (data_dir, *data_dir.parents):
        try:
            exists = candidate.exists()
        except OSError:  # e.g. a name too long
            exists = False
        if exists:
            if not candidate.is_dir():
                where = "is" if candidate == data_dir else f"is inside '{candidate}', which is"
                raise UserError(f"{named}: '{data_dir}' {where} not a directory")
            return
