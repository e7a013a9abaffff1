"""What the app offers to pick: games, and agents (built-ins, roster, plugins, runs, shipped models).

An agent is always named by its reference string, as everywhere in Arena; a
run or checkpoint directory is a reference too (its path).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Agent
from arena.config import Settings
from games.registry import GameSpec, builtin_games

#: Where shipped trained models live: one checkpoint (or run) directory each.
MODELS_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"

#: Built-ins the app offers; `human` reads the terminal, which the app owns.
_OFFERED_BUILTINS = ("random", "greedy", "mcts", "gnugo")
#: Built-ins that play only Go.
_GO_ONLY = {"gnugo"}


@dataclass(frozen=True)
class AgentEntry:
    """One agent the app can seat."""

    kind: str  # built-in | roster | plugin | run | model
    ref: str  # the agent reference (a path for runs and models)
    name: str  # how it is shown
    game: str | None = None  # the game a learned agent was trained on
    algo: str | None = None
    eval_mean: float | None = None  # best/meta.json's eval_mean, if any
    description: str = ""
    needs_state: bool = False  # plays only games with a search state


def _meta(directory: Path) -> dict[str, Any] | None:
    """meta.json of a checkpoint, or of a run's best (else last) checkpoint."""
    from games.errors import UserError
    from games.inputs import read_bounded

    for candidate in (directory, directory / "best", directory / "last"):
        try:  # bounded: an endless meta.json (a link to /dev/zero) is skipped, not read
            data = json.loads(read_bounded(candidate / "meta.json", "JSON metadata"))
        except (OSError, ValueError, UserError):
            continue
        if isinstance(data, dict):
            return data
    return None


def learned_entries(directory: Path, kind: str) -> list[AgentEntry]:
    """Entries for the checkpoint or run directories under `directory`, newest first."""
    if not directory.is_dir():
        return []
    entries = []
    folders = sorted((p for p in directory.iterdir() if p.is_dir()),
                     key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    for folder in folders:
        meta = _meta(folder)
        if meta is None:
            continue  # a run still starting, or not a checkpoint: nothing to play yet
        best = _meta(folder / "best") if (folder / "best").is_dir() else meta
        mean = (best or {}).get("eval_mean")
        entries.append(AgentEntry(
            kind, str(folder), folder.name, game=meta.get("game"), algo=meta.get("algo"),
            eval_mean=float(mean) if isinstance(mean, (int, float)) else None,
            description=f"{meta.get('algo', '?')} on {meta.get('game', '?')}, "
                        f"{meta.get('steps', '?')} steps"))
    return entries


def list_agents(settings: Settings, runs_dir: Path, models_dir: Path = MODELS_DIR) -> list[AgentEntry]:
    """Every agent the app knows: built-ins, roster, plugins, shipped models, trained runs."""
    from agents.registry import BUILTINS, plugin_names

    entries = []
    for name in _OFFERED_BUILTINS:
        builtin = BUILTINS.get(name)
        if builtin is not None:
            entries.append(AgentEntry("built-in", name, name, game="go" if name in _GO_ONLY else None,
                                      description=builtin.description,
                                      needs_state=name in ("greedy", "mcts", "gnugo")))
    plays = {e.name: e for e in entries}
    for name, entry in settings.roster.items():
        ref = entry if isinstance(entry, str) else entry.agent
        text = "" if isinstance(entry, str) else entry.description
        # A roster entry for a built-in (mcts:sims=3000) plays the games that built-in plays.
        base = plays.get(ref.split(":", 1)[0])
        entries.append(AgentEntry("roster", name, name, game=base.game if base else None,
                                  description=f"{ref}  {text}".strip(),
                                  needs_state=base.needs_state if base else False))
    entries += [AgentEntry("plugin", n, n, description="plugin (entry point arena.agents)")
                for n in plugin_names()]
    entries += learned_entries(models_dir, "model")
    entries += learned_entries(runs_dir, "run")
    return entries


def fits(entry: AgentEntry, game: GameSpec) -> bool:
    """Whether `entry` can play `game` (as far as can be told without building it)."""
    if entry.game == "go":
        return game.is_go
    if entry.game is not None:
        return entry.game == game.id
    if entry.needs_state:
        return game.has_state
    return True


def option_label(entry: AgentEntry, width: int = 22) -> str:
    """How `entry` is named in a narrow list: its name, with its kind unless built in."""
    label = entry.name if entry.kind == "built-in" else f"{entry.name} ({entry.kind})"
    return label if len(label) <= width else label[: width - 1] + "…"


def agents_for(entries: list[AgentEntry], game: GameSpec) -> list[AgentEntry]:
    """The entries that can play `game`."""
    return [e for e in entries if fits(e, game)]


def watchable_games() -> list[GameSpec]:
    """The games the Watch screen offers: all built-in ones."""
    return builtin_games()


def board_games() -> list[GameSpec]:
    """The games a person can play in the app: those with a board (a search state)."""
    return [g for g in builtin_games() if g.has_state and g.players == 2]


def build_agent(ref: str, settings: Settings) -> Agent:
    """The agent `ref` names (a run directory included), with the settings' roster and
    build limit (user code that takes longer to build is one line, not a hung screen).

    UserError when it names nothing.
    """
    from agents.registry import make_agent

    return make_agent(ref, settings.roster_refs(), build_limit=settings.build_limit)
