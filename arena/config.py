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

from arena.errors import UserError


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
    time_per_move: float | None = Field(default=30.0, gt=0)
    max_moves: int = Field(default=10_000, gt=0)
    roster: dict[str, RosterEntry | str] = Field(default_factory=dict)

    source: Path | None = Field(default=None, exclude=True)

    @field_validator("threads", mode="before")
    @classmethod
    def _threads(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                               and value > 0):
            return value
        raise ValueError('must be "auto" or a positive whole number')

    def roster_refs(self) -> dict[str, str]:
        """Roster name -> agent reference."""
        return {name: e if isinstance(e, str) else e.agent for name, e in self.roster.items()}

    @property
    def store_path(self) -> Path:
        return self.data_dir / "arena.db"


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]
                        if part not in ("RosterEntry", "str"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown field '{location}'"
    value = error.get("input")
    return f"field '{location}': {message[0].lower()}{message[1:]} (got {value!r})"


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
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{candidate}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{candidate}: cannot read: {exc}") from None
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
    settings.runs_dir = settings.runs_dir.expanduser()
    return settings
