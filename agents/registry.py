"""Agent references: one string names an agent everywhere in Arena.

A reference is, in the order they are tried:
- a roster name from arena.toml;
- ``path/to/file.py:ClassName`` (optionally ``...:ClassName:key=value,...``), a user's own agent;
- ``gtp:<command line>``, any GTP engine (Go), the rest of the string being its command line;
- ``alphazero:<checkpoint dir>[,sims=N,...]``, a trained AlphaZero network with PUCT search;
- ``alphago:<run dir>[,sims=N,lambda=L,rollouts=K]``, an AlphaGo run: SL priors, value net (+ rollouts);
- a built-in name, with parameters as ``name:key=value,...`` (``mcts:sims=2000``);
- an installed plugin: an entry point in the group ``arena.agents``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Agent
from games.errors import UserError, did_you_mean

ENTRY_POINT_GROUP = "arena.agents"
META_FILE = "meta.json"  # a checkpoint's metadata (agents/checkpoint.py META)


@dataclass(frozen=True)
class Builtin:
    name: str
    description: str
    load: Callable[[], type[Agent]]


def _lazy(module: str, cls: str) -> Callable[[], type[Agent]]:
    return lambda: getattr(importlib.import_module(module), cls)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        Builtin("random", "a uniformly random legal action", _lazy("agents.random_agent", "RandomAgent")),
        Builtin("human", "you, at the terminal", _lazy("agents.human", "HumanAgent")),
        Builtin("greedy", "board games: wins if it can, blocks if it must, else random",
                _lazy("agents.greedy", "GreedyAgent")),
        Builtin("mcts", "UCT with random rollouts; mcts:sims=1000,c=1.4",
                _lazy("agents.uct", "MCTSAgent")),
        Builtin("gnugo", "Go: GNU Go 3.8 over GTP; gnugo:level=0..10 (default 10)",
                _lazy("agents.gtp_agent", "GnuGoAgent")),
    ]
}


def parse_params(text: str, ref: str) -> dict[str, Any]:
    """``key=value,key=value`` -> a dict, values read as int, float, bool or str.

    A number must be finite: ``c=nan``, ``time=inf`` or ``c=1e999`` is a UserError.
    """
    params: dict[str, Any] = {}
    if not text:
        return params
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"agent '{ref}': parameter '{item}' is not key=value")
        parsed = _parse_value(value.strip())
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise UserError(f"agent '{ref}': parameter {key}={value.strip()} is not a finite "
                            f"number")
        params[key] = parsed
    return params


def split_path_params(text: str) -> tuple[str, str]:
    """``path[,key=value,...]`` -> (path, "key=value,...").

    The parameters are the longest tail of comma-separated ``key=value``
    items, so a path may itself contain commas.
    """
    parts = text.split(",")
    cut = len(parts)
    while cut > 1 and "=" in parts[cut - 1]:
        cut -= 1
    return ",".join(parts[:cut]).strip(), ",".join(parts[cut:])


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_params(cls: Any, params: Mapping[str, Any], ref: str) -> None:
    """UserError unless `cls` (a class or factory) takes these parameter names and types."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        accepted = signature.parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        for key, value in params.items():
            if key not in accepted and not takes_any:
                known = ", ".join(k for k in accepted if not k.startswith("_")) or "none"
                raise UserError(f"agent '{ref}': unknown parameter '{key}' (known: {known})")
            annotation = accepted[key].annotation if key in accepted else None
            _check_type(key, value, annotation, ref)


def instantiate(cls: Any, params: Mapping[str, Any], ref: str) -> Agent:
    """Build an agent from a class or factory, checking parameter names and types."""
    check_params(cls, params, ref)
    try:
        agent = cls(**params)
    except (ValueError, TypeError) as exc:
        raise UserError(f"agent '{ref}': {exc}") from None
    if not callable(getattr(agent, "act", None)):
        raise UserError(f"agent '{ref}': {cls!r} made an object without an act() method")
    if not isinstance(agent, Agent):
        agent = ForeignAgent(agent)
    return agent


class ForeignAgent(Agent):
    """Any object with act(observation, action_mask), seen as an Agent.

    Optional reset() and explain() on the object are used when present.
    """

    def __init__(self, inner: Any):
        self.inner = inner

    def reset(self) -> None:
        if callable(getattr(self.inner, "reset", None)):
            self.inner.reset()

    def act(self, observation: Any, action_mask: Any) -> Any:
        return self.inner.act(observation, action_mask)

    def explain(self) -> Any:
        explain = getattr(self.inner, "explain", None)
        return explain() if callable(explain) else None

    def accepts(self, game: Any) -> bool:
        accepts = getattr(self.inner, "accepts", None)
        return bool(accepts(game)) if callable(accepts) else super().accepts(game)

    @property
    def plays(self) -> str | None:  # type: ignore[override]
        plays = getattr(self.inner, "plays", None)
        return plays if isinstance(plays, str) else None


def _check_type(key: str, value: Any, annotation: Any, ref: str) -> None:
    if isinstance(annotation, str) and annotation.endswith(" | None"):
        annotation = annotation[: -len(" | None")]  # optional: a given value has the base type
    expected = {"int": int, "float": (int, float), "bool": bool, "str": str,
                int: int, float: (int, float), bool: bool, str: str}.get(annotation)
    if expected is None:
        return
    if isinstance(value, bool) and expected is not bool:
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        name = annotation if isinstance(annotation, str) else annotation.__name__
        article = "an" if name[0] in "aeiou" else "a"
        raise UserError(f"agent '{ref}': parameter {key}={value!r} is not {article} {name}")


def load_file_class(path_text: str, class_name: str, ref: str) -> Any:
    """The class `class_name` defined in the Python file at `path_text`."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise UserError(f"agent '{ref}': no such file '{path_text}'")
    module_name = f"arena_user_agent_{abs(hash(str(path.resolve())))}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"agent '{ref}': cannot load '{path_text}' as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file may fail in any way; say how
            del sys.modules[module_name]
            raise UserError(f"agent '{ref}': importing '{path_text}' failed: "
                            f"{type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UserError(f"agent '{ref}': '{path_text}' defines no '{class_name}'")
    return cls


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def plugin_names() -> list[str]:
    """Names of installed plugin agents."""
    return sorted(_entry_points())


def make_agent(ref: str, roster: Mapping[str, str] | None = None, _depth: int = 0, *,
               isolate: bool = True, build_limit: float | None = None) -> Agent:
    """The agent a reference names, freshly built. UserError if it names none.

    User code (``path/file.py:Class`` and installed plugins) is built in a process of
    its own, killed at every deadline (agents/isolation.py), unless `isolate` is False;
    `build_limit` is the seconds its ``__init__`` may take (default: arena.toml's).
    """
    ref = ref.strip()
    if not ref:
        raise UserError("agent reference is empty")
    roster = roster or {}
    if isolate and _depth == 0:
        from agents.isolation import IsolatedAgent, is_user_code

        if is_user_code(ref, dict(roster)):
            return IsolatedAgent(ref, dict(roster), build_limit=build_limit)
    if ref in roster:
        if _depth > 8:
            raise UserError(f"agent '{ref}': the roster refers to itself in a loop")
        agent = make_agent(roster[ref], roster, _depth + 1, isolate=False)
        agent.name = ref
        return agent
    if ref.startswith("gtp:"):
        # Everything after "gtp:" is the engine's command line, colons and all.
        from agents.gtp_agent import GtpAgent

        agent = instantiate(GtpAgent, {"command": ref[4:]}, ref)
        agent.name = ref
        return agent
    if ref.startswith("alphazero:"):
        # The checkpoint path may hold '/', ':' or ','; parameters are the key=value tail.
        from agents.alphazero.agent import AlphaZeroAgent

        path_text, param_text = split_path_params(ref[len("alphazero:"):])
        if not path_text:
            raise UserError(f"agent '{ref}': expected alphazero:<checkpoint dir>[,sims=N]")
        _require_directory(path_text, ref)
        agent = instantiate(AlphaZeroAgent, {"checkpoint": path_text, **parse_params(param_text, ref)}, ref)
        agent.name = ref
        return _note_trained_game(agent, path_text)
    if ref.startswith("alphago:"):
        from agents.alphago.agent import AlphaGoAgent

        path_text, param_text = split_path_params(ref[len("alphago:"):])
        if not path_text:
            raise UserError(f"agent '{ref}': expected "
                            "alphago:<run dir>[,sims=N,lambda=L,rollouts=K]")
        _require_directory(path_text, ref)
        params = parse_params(param_text, ref)
        if "lambda" in params:  # a Python keyword, so the parameter is named lam
            params["lam"] = params.pop("lambda")
        agent = instantiate(AlphaGoAgent, {"run": path_text, **params}, ref)
        agent.name = ref
        return _note_trained_game(agent, path_text)
    if ".py:" in ref:
        path_text, _, rest = ref.partition(".py:")
        class_name, _, param_text = rest.partition(":")
        cls = load_file_class(path_text + ".py", class_name, ref)
        agent = instantiate(cls, parse_params(param_text, ref), ref)
        agent.name = ref
        return agent
    name, _, param_text = ref.partition(":")
    params = parse_params(param_text, ref)
    if name in BUILTINS:
        agent = instantiate(BUILTINS[name].load(), params, ref)
        agent.name = ref
        return agent
    entry_points = _entry_points()
    if name in entry_points:
        try:
            cls = entry_points[name].load()
        except Exception as exc:  # a broken plugin must not take the program down
            raise UserError(f"agent '{ref}': plugin failed to load: {type(exc).__name__}: {exc}") from None
        agent = instantiate(cls, params, ref)
        agent.name = ref
        return agent
    path = Path(ref).expanduser()
    if _is_dir(path):
        from agents.algorithms import load_run_agent

        agent = load_run_agent(path)
        agent.name = ref
        return _note_trained_game(agent, ref)
    if looks_like_path(ref):
        if _exists(path):
            raise UserError(f"agent '{ref}': not a directory: {ref} "
                            f"(a run or checkpoint directory was expected)")
        raise UserError(f"no such directory: {ref} (agent '{ref}' names a run or checkpoint "
                        f"directory)")
    names = list(BUILTINS) + plugin_names() + sorted(roster)
    hint = did_you_mean(name, names)
    known = ", ".join(names)
    raise UserError(f"unknown agent '{ref}'{': ' + hint if hint else ''} "
                    f"(known: {known}; or a run directory, path/to/file.py:ClassName)")


def through_roster(ref: str, roster: Mapping[str, str] | None) -> str:
    """`ref` with roster names followed to the reference they stand for (10 steps at most)."""
    roster = roster or {}
    ref = ref.strip()
    for _ in range(10):
        if ref not in roster:
            break
        ref = roster[ref].strip()
    return ref


def user_class(ref: str, roster: Mapping[str, str] | None = None) -> tuple[Any, dict[str, Any], str]:
    """(class or factory, parameters, reference) of a ``file.py:Class`` or plugin reference,
    through roster names: imported, not built. UserError if it names none."""
    ref = through_roster(ref, roster)
    if ".py:" in ref:
        path_text, _, rest = ref.partition(".py:")
        class_name, _, param_text = rest.partition(":")
        return load_file_class(path_text + ".py", class_name, ref), parse_params(param_text, ref), ref
    name, _, param_text = ref.partition(":")
    params = parse_params(param_text, ref)
    entry_points = _entry_points()
    if name not in entry_points:
        raise UserError(f"unknown agent '{ref}'")
    try:
        cls = entry_points[name].load()
    except Exception as exc:  # a broken plugin must not take the program down
        raise UserError(f"agent '{ref}': plugin failed to load: {type(exc).__name__}: {exc}") from None
    return cls, params, ref


def trained_game(path_text: str) -> str | None:
    """The game id a run or checkpoint directory's meta.json names; None if it names none."""
    directory = Path(path_text).expanduser()
    if directory.name == META_FILE:
        directory = directory.parent
    for candidate in (directory, directory / "best", directory / "last", directory / "sl"):
        meta = candidate / META_FILE
        if meta.is_file():
            from games.inputs import read_bounded

            try:  # read_bounded: an endless meta.json is refused (UserError), not read whole
                game = json.loads(read_bounded(meta, "JSON metadata")).get("game")
            except (OSError, ValueError, AttributeError, RecursionError):
                return None
            return game if isinstance(game, str) and game else None
    return None


def _note_trained_game(agent: Agent, path_text: str) -> Agent:
    """`agent`, with ``trained_on`` set to the game its checkpoint was trained on."""
    try:
        agent.trained_on = trained_game(path_text)
    except AttributeError:  # an agent with __slots__ and no room for it: nothing to check
        pass
    return agent


def check_game(agent: Agent, game: Any, ref: str | None = None) -> None:
    """UserError if `agent` cannot play `game` (a GameSpec): its class does not accept
    it (`Agent.accepts`: gnugo and gtp: play Go only, search agents need a search
    state), or it was trained on another game.

    A single-player run trained under one id plays the same env under another
    (``cartpole`` is ``gym:CartPole-v1``).
    """
    name = ref or agent.name
    accepts = getattr(agent, "accepts", None)
    if callable(accepts):
        try:
            ok = bool(accepts(game))
        except Exception as exc:  # a user's accepts() may fail in any way; say how
            raise UserError(f"agent '{name}': accepts() failed on {game.id}: "
                            f"{type(exc).__name__}: {exc}") from None
        if not ok:
            plays = getattr(agent, "plays", None)
            if isinstance(plays, str) and plays:
                raise UserError(f"agent '{name}' cannot play {game.id}: it plays {plays}")
            if getattr(agent, "needs_state", False) and game.new_state is None:
                raise UserError(f"agent '{name}' needs a board game with a search state; "
                                f"game '{game.id}' has none")
            raise UserError(f"agent '{name}' cannot play {game.id}")
    trained = getattr(agent, "trained_on", None)
    if not trained or trained == game.id:
        return
    if game.players == 1:
        from games.registry import resolve_game

        try:
            if resolve_game(trained).title == game.title:
                return
        except UserError:
            pass
    raise UserError(f"agent '{name}' was trained on {trained}, not {game.id}")


def _require_directory(path_text: str, ref: str) -> None:
    if not Path(path_text).expanduser().exists():
        raise UserError(f"no such directory: {path_text} (agent '{ref}')")


def _is_dir(path: Path) -> bool:
    """path.is_dir(), False where the name cannot even be looked up (too long, say)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def looks_like_path(ref: str) -> bool:
    """True for a reference that can only mean a file or directory: a slash, or a leading . or ~."""
    return "/" in ref or ref.startswith((".", "~"))


def stored_reference_problem(ref: str) -> str | None:
    """Why an agent reference read from a checkpoint or run file may not be built, or None.

    A file on disk is not the user: a reference in it that would start a program
    (``gtp:<command>``) or import code (``path/file.py:Class``, an installed plugin) is
    refused; built-ins (``random``, ``mcts:sims=N``, ...) and checkpoint directories are not.
    """
    ref = ref.strip()
    if ref.startswith("gtp:"):
        return "would start a program (gtp:)"
    if ".py:" in ref:
        return "would import user code (a .py: file reference)"
    if ref.startswith(("alphazero:", "alphago:")):
        return None
    name = ref.partition(":")[0]
    if not name or name in BUILTINS:
        return None
    try:  # tried before directories, as make_agent does
        plugins = _entry_points()
    except Exception:  # broken package metadata: nothing can be loaded from it anyway
        return None
    if name in plugins:
        return "would import user code (an installed plugin)"
    return None  # a checkpoint directory, or a name make_agent refuses
