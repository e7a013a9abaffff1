"""Reading what users hand Arena, within limits: no file or YAML text can exhaust memory.

Every file Arena reads from a user (SGF games and datasets, tournament and
league specs, arena.toml, checkpoint metadata) is read with `read_bounded`:
at most its limit plus one byte, so a file larger than the limit (or an endless
one, such as a symlink to /dev/zero, whose size stat reports as 0) is refused
with one line naming the file and the limit, after reading no more than that.

YAML goes through `load_yaml`: PyYAML's safe loader, with aliases limited
(a "billion laughs" file of nested aliases expands to exponentially many
nodes from a few hundred bytes), nesting depth limited, and no cycles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from games.errors import UserError

#: The most bytes Arena reads from a text file it is handed (SGF, YAML, TOML, JSON metadata).
MAX_INPUT_BYTES = 16 * 1024 * 1024
#: The most aliases (``*name``) a YAML document may use.
MAX_YAML_ALIASES = 100
#: The most nodes a YAML document may expand to with its aliases followed.
MAX_YAML_NODES = 100_000
#: The deepest nesting of sequences and mappings in a YAML document.
MAX_YAML_DEPTH = 100


def size_text(limit: int) -> str:
    """A limit in words: "16 MB", "64 kB", "100 bytes"."""
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} kB"
    return f"{limit} bytes"


class InputTooLarge(UserError):
    """A file over its limit (or endless): one line naming the file and the limit."""


def read_bounded(path: str | Path, what: str = "input", limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the file at `path`, reading at most `limit` + 1 of them.

    A file holding more than `limit` bytes is refused with InputTooLarge naming
    it, `what` it is ("SGF", "YAML", ...) and the limit. OSError (a missing
    file, a directory, no permission) passes through for the caller to word.
    """
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"{path}: larger than {size_text(limit)}, the limit for {what} "
                            f"files (or endless); refused")
    return data


def read_text_bounded(path: str | Path, what: str = "input", limit: int = MAX_INPUT_BYTES,
                      encoding: str = "utf-8") -> str:
    """`read_bounded`, decoded (UnicodeDecodeError passes through as OSError does)."""
    return read_bounded(path, what, limit).decode(encoding)


class YamlLimitError(yaml.YAMLError):
    """A YAML document over a limit: too many aliases, too many nodes, too deep, or a cycle."""

    def __init__(self, problem: str, mark: Any = None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _LimitedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that counts aliases and nesting as it composes, and checks expansion."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlLimitError(f"more than {MAX_YAML_ALIASES} aliases (*name); refused",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels; refused",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None and self._aliases:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """YamlLimitError if `root`, its aliases followed, has over MAX_YAML_NODES nodes or a cycle."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk; a node shared through aliases is sized once (memoized).
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > MAX_YAML_NODES:
                raise YamlLimitError(f"expands to more than {MAX_YAML_NODES:,} values through "
                                     f"its aliases; refused", node.start_mark)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlLimitError("an alias refers to a value that contains it; refused",
                                 node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in open_nodes:
                raise YamlLimitError("an alias refers to a value that contains it; refused",
                                     child.start_mark)
            if child_key not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str | bytes) -> Any:
    """yaml.safe_load of `text`, with aliases, expansion and nesting limited.

    Raises yaml.YAMLError (YamlLimitError for a limit) as yaml.safe_load does.
    """
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels; refused") from None
    except ValueError as exc:  # e.g. an integer of more digits than int() converts
        raise YamlLimitError(" ".join(str(exc).split())[:200]) from None
    finally:
        loader.dispose()


# -- numbers -------------------------------------------------------------------------------

#: The largest seed a game may have: the store keeps seeds as SQLite INTEGERs (64-bit signed).
#: A series or schedule whose game i uses seed + i needs seed + games - 1 to fit as well.
MAX_SEED = 2**63 - 1
#: The longest time per move Arena accepts, in seconds (a day).
MAX_TIME_PER_MOVE = 86_400.0
