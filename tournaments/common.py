"""What tournaments and leagues share: their spec files, store tables and commands.

A tournament (tournaments/spec.py, records.py, commands.py) and a league
(league_spec.py, league_records.py, league_commands.py) are kept apart because
what they play differs; the plumbing around it does not. `what` below is the
word a message uses for the thing ("tournament" or "league").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from games.errors import UserError

if TYPE_CHECKING:
    from tournaments.store import Store

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# -- spec files ------------------------------------------------------------------------------


def read_yaml(path: Path, what: str) -> Any:
    """The parsed YAML in the file at `path`; UserError with the line and column if it is bad.

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


def load_spec_file(path: str | Path, what: str, parse: Callable[..., M]) -> M:
    """The spec in the YAML file at `path`, by `parse(data, source, default_name=stem)`."""
    path = Path(path)
    return parse(read_yaml(path, what), str(path), default_name=path.stem)


def resolve_spec_game(name: str, source: str) -> Any:
    """The game called `name` (games.registry); a UserError naming `source`'s field if unknown."""
    from games.registry import resolve_game

    try:
        return resolve_game(name)
    except UserError as exc:
        raise UserError(f"{source}: field 'game': {exc}") from None


def validate_mapping(model: type[M], data: Any, source: str, default_name: str | None,
                     fields: str, describe: Callable[[dict[str, Any]], str]) -> M:
    """`data` validated as `model`, named `default_name` if it has no name.

    Not a mapping, or a field that fails, is a UserError naming `source` and the
    first bad field (in `describe`'s words); `fields` lists the expected ones.
    """
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of fields ({fields}), "
                        f"got {type(data).__name__}")
    if "name" not in data and default_name is not None:
        data = {"name": default_name, **data}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe(exc.errors()[0])}") from None


def plain_references(value: Any) -> Any:
    """A bare agent reference names itself: "mcts:sims=200" -> {name: ..., agent: ...}."""
    if isinstance(value, list):
        return [{"name": v, "agent": v} if isinstance(v, str) else v for v in value]
    return value


def fingerprint(fields: dict[str, Any]) -> str:
    """sha256 of `fields` as canonical JSON: equal fingerprints mean equal fields."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def with_clock(spec: Any, time_per_move: float | None, max_moves: int | None) -> Any:
    """`spec` with its clock and move cap filled in from the settings where it has none."""
    return spec.model_copy(update={
        "time_per_move": spec.time_per_move if spec.time_per_move is not None else time_per_move,
        "max_moves": spec.max_moves if spec.max_moves is not None else max_moves,
    })


def first_difference(old: dict[str, Any], new: dict[str, Any],
                     fields: Iterable[str]) -> str | None:
    """"field 'F' was OLD, now NEW" for the first of `fields` that differs, or None."""
    for name in fields:
        if old[name] != new[name]:
            return f"field '{name}' was {json.dumps(old[name])}, now {json.dumps(new[name])}"
    return None


# -- store tables ----------------------------------------------------------------------------


@dataclass
class StoredGame:
    """A planned game as stored (tournament_games, league_games)."""

    key: str
    ordinal: int
    round: int
    seats: list[str]
    seed: int
    status: str
    match_id: int | None
    attempts: int


def require_named(record: T | None, name: str, what: str, store: Store,
                  known: Iterable[str]) -> T:
    """`record`; if it is None, a UserError naming the `known` ones instead."""
    if record is None:
        names = ", ".join(known) or "none yet"
        raise UserError(f"no {what} named '{name}' in {store.path} (known: {names})")
    return record


def count_by_status(store: Store, table: str, owner_column: str, owner: int) -> dict[str, int]:
    """How many rows of `table` belonging to `owner` there are per status."""
    rows = store.conn.execute(f"SELECT status, COUNT(*) FROM {table} "
                              f"WHERE {owner_column} = ? GROUP BY status", (owner,))
    return dict(rows.fetchall())


def game_rows(store: Store, table: str, owner_column: str, owner: int, columns: str,
              status: str | None = None, round: int | None = None) -> list[tuple]:
    """`columns` of `owner`'s games in `table`, in order of play (with `status` / in `round`)."""
    sql = f"SELECT {columns} FROM {table} WHERE {owner_column} = ?"
    args: list[Any] = [owner]
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    if round is not None:
        sql += " AND round = ?"
        args.append(round)
    return store.conn.execute(sql + " ORDER BY ordinal", args).fetchall()


def outcome_score(outcome: str) -> float:
    """Points for an outcome: 1 a win, 1/2 a draw, 0 a loss."""
    return 1.0 if outcome == "win" else 0.5 if outcome == "draw" else 0.0


# -- commands --------------------------------------------------------------------------------


def dispatch(action: str, what: str, handlers: dict[str, Callable[[], int]]) -> int:
    """Run the handler of `action`; an unknown one is a UserError."""
    if action not in handlers:
        raise UserError(f"unknown {what} action '{action}'")
    return handlers[action]()


def open_store(settings: Any, what: str) -> Store:
    """The store named in `settings`; a UserError if nothing has made it yet."""
    if not settings.store_path.exists():
        raise UserError(f"no store at {settings.store_path}: no {what} has been run yet")
    from tournaments.store import Store

    return Store(settings.store_path)


def with_store(settings: Any, what: str, read: Callable[[Store], T]) -> T:
    """`read(store)` on the store opened by `open_store`, closed afterwards."""
    store = open_store(settings, what)
    try:
        return read(store)
    finally:
        store.close()


def name_of(text: str, load: Callable[[str], Any]) -> str:
    """A name, or the name inside the spec file given instead (read by `load`)."""
    if text.endswith((".yaml", ".yml")) and Path(text).is_file():
        return load(text).name
    return text


def print_or_json(data: Any, as_json: bool, show: Callable[[Any], None]) -> int:
    """`data` as one JSON line, or shown by `show`; exit code 0."""
    if as_json:
        print(json.dumps(data))
    else:
        show(data)
    return 0


def fmt(value: Any, spec: str = "", none: str = "-") -> str:
    """`value` formatted by `spec`, or `none` when it is None."""
    return none if value is None else format(value, spec)
