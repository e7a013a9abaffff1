"""PUCT Monte Carlo tree search guided by a policy+value network (AlphaZero).

Each node keeps its children's statistics in one float64 buffer over its
legal moves (rows N, W, Q, P/(1+N), P; numpy views of them are Node.N etc.),
and one selection step is an argmax over them:

    a* = argmax_a  Q(s,a) + C(s) * P(s,a) * sqrt(N(s)) / (1 + N(s,a))
    C(s) = log((1 + N(s) + c_base) / c_base) + c_init        (AlphaZero's schedule)

Q(s,a) = W(s,a) / N(s,a) is from the view of the player to move at s
(`fpu`, default 0, for unvisited moves); N(s) counts the visits of s,
including the one that evaluated it. P/(1+N) is kept per node and updated
on backup, so selection does not recompute it.

A simulation is split in two so that many can share one network call
(selfplay.py): `select_leaf()` walks down to an unevaluated position and
returns it (terminal positions are backed up at once and give None), and
`expand(pending, priors, value)` sets the leaf's priors and backs the value
up. With a virtual loss, several leaves of one tree can be in flight at
once: each path is counted as visited and lost until its value arrives.

At the root, self-play mixes Dirichlet noise into the priors,
P = (1 - eps) P + eps Dir(alpha), alpha = alpha_scale / #legal moves (so
10/361 ~ 0.03 for 19x19 Go and 10/35 ~ 0.3 for chess, as AlphaZero), and
plays the first `temperature_moves` moves in proportion to N^(1/T), then
the most visited move. `advance(action)` keeps the chosen child as the new
root, so its statistics are reused by the next search.

Speed: the walk down (`descend`), the backup and the expansion of a leaf
(`expand_stats`, `expand_backup`) run in C (agents/alphazero/_puct.c, built
by setup.py), a few microseconds per simulation even on 19x19 Go; their
Python twins below (`descend_py`, ...) do the same float operations in the
same order and are the fallback when the extension is not built, so both
give the same trees to the last bit. Searches run with Python's cyclic
garbage collector paused (`paused_gc`): a tree has no reference cycles.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from games.state import GameState

try:  # the walk, backup and expansion, compiled (setup.py builds it): the Python twins' numbers
    from agents.alphazero import _puct
except ImportError:  # pragma: no cover - a checkout whose extensions were not built
    _puct = None

#: (states) -> (priors (B, num_actions), values (B,) for the side to move at each state)
Evaluate = Callable[[Sequence[GameState]], tuple[np.ndarray, np.ndarray]]


@dataclass
class SearchConfig:
    """How the search explores and how moves are chosen from it."""

    sims: int = 200  # simulations per move
    c_base: float = 19652.0
    c_init: float = 1.25
    fpu: float = 0.0  # the value of a move not yet visited
    root_noise: bool = False  # Dirichlet noise at the root (self-play, not matches)
    alpha_scale: float = 10.0  # alpha = alpha_scale / number of legal moves
    noise_epsilon: float = 0.25
    temperature: float = 1.0
    temperature_moves: int = 0  # moves sampled with `temperature`; greedy after them
    resign_threshold: float | None = None  # resign when the best move's value is below it
    no_resign_share: float = 0.1  # share of self-play games that never resign
    virtual_loss: float = 1.0  # per leaf in flight, when several leaves are batched


class Node:
    """A position in the tree; children's N, W, Q, P live in arrays over its legal moves.

    The statistics of an expanded node are one float64 buffer `stats` of
    shape (5, k) over its k legal moves, rows N (visits), W (value sum), Q
    (W / N, or `fpu` while N is 0), PU (P / (1 + N), kept so that selection
    does not recompute it) and P (the priors in use). The compiled walk and
    backup read and write that buffer; `N`, `W`, `Q`, `PU` and `prior` are
    numpy views of its rows, made on first use, so Python sees the same
    numbers (and may write them). `move_buffer` holds the k legal actions as
    int64, ascending; `actions` is them as a list.
    """

    __slots__ = (
        "_actions",
        "_clean_prior",
        "_views",
        "children",
        "expanded",
        "move_buffer",
        "pending",
        "state",
        "stats",
        "terminal",
        "terminal_value",
        "to_play",
        "value_sum",
        "visits",
    )

    def __init__(self, state: GameState) -> None:
        self.state = state
        self.to_play = state.to_play
        self.terminal = state.is_terminal()
        self.terminal_value = state.returns()[self.to_play] if self.terminal else 0.0
        self.expanded = False
        self.pending = False  # selected as a leaf, its evaluation not back yet
        self.visits = 0.0
        self.value_sum = 0.0  # sum of backed-up values, for self.to_play

    def expand(self, priors: np.ndarray, fpu: float) -> None:
        """Create the child statistics; priors over all actions are restricted to the legal ones."""
        legal = self.state.legal_for_search()
        try:
            k, self.move_buffer, self.stats = expand_stats(priors, legal, fpu)
        except TypeError:  # priors of another dtype than float32/float64
            k, self.move_buffer, self.stats = expand_stats_py(np.asarray(priors), legal, fpu)
        self._views = self._actions = self._clean_prior = None
        self.children: list[Node | None] = [None] * k
        self.expanded = True
        self.pending = False

    def _rows(self) -> tuple[np.ndarray, ...]:
        """The views (N, W, Q, PU, P) of the statistics' rows, made once."""
        views = self._views
        if views is None:
            rows = np.frombuffer(self.stats, dtype=np.float64).reshape(5, len(self.children))
            views = self._views = tuple(rows)
        return views

    @property
    def N(self) -> np.ndarray:
        """Visits of each move."""
        return self._rows()[0]

    @property
    def W(self) -> np.ndarray:
        """Sum of the values backed up through each move, for the player to move here."""
        return self._rows()[1]

    @property
    def Q(self) -> np.ndarray:
        """W / N per move (`fpu` for a move not yet visited)."""
        return self._rows()[2]

    @property
    def PU(self) -> np.ndarray:
        """prior / (1 + N) per move."""
        return self._rows()[3]

    @property
    def prior(self) -> np.ndarray:
        """The priors the search uses (with root noise mixed in, at a self-play root)."""
        return self._rows()[4]

    @property
    def clean_prior(self) -> np.ndarray:
        """The network's priors over the legal moves, normalised, without noise."""
        clean = self._clean_prior
        return self.prior if clean is None else clean

    @property
    def action_array(self) -> np.ndarray:
        """The legal moves as an int64 array (read-only), ascending."""
        return np.frombuffer(self.move_buffer, dtype=np.int64)

    @property
    def actions(self) -> list[int]:
        """The legal moves, ascending: move i of the statistics rows is actions[i]."""
        actions = self._actions
        if actions is None:
            actions = self._actions = self.action_array.tolist()
        return actions

    def set_prior(self, p: np.ndarray) -> None:
        """Replace the priors (root noise), keeping the visit statistics and the clean priors."""
        prior = self.prior
        if self._clean_prior is None:
            self._clean_prior = prior.copy()
        prior[:] = p
        np.divide(prior, 1.0 + self.N, out=self.PU)


def descend_py(root: Node, c_base: float, c_init: float, virtual_loss: float,
               fpu: float) -> tuple[list[tuple[Node, int]], Node, int, int]:
    """The PUCT walk from `root`: (path of (node, move index), where it stopped, index, action).

    It stops at a node not expanded or terminal (index and action -1), or
    at a move whose child does not exist yet (the node is its parent, the
    index and action the move's). Each move taken gets the virtual loss at
    once. `descend` is the compiled twin of this function
    (agents/alphazero/_puct.c), equal to the last bit.
    """
    log, sqrt = math.log, math.sqrt
    node = root
    path: list[tuple[Node, int]] = []
    while node.expanded and not node.terminal:
        n = node.visits
        scale = (log((1.0 + n + c_base) / c_base) + c_init) * sqrt(n)
        # PUCT: Q + C(s) * sqrt(N(s)) * P / (1 + N(s,a)).
        i = int((node.Q + scale * node.PU).argmax())
        path.append((node, i))
        if virtual_loss:
            _visit(node, i, virtual_loss, -virtual_loss, fpu)
        child = node.children[i]
        if child is None:
            return path, node, i, node.actions[i]
        node = child
    return path, node, -1, -1


def backup_py(path: list[tuple[Node, int]], to_play: int, value: float, virtual_loss: float,
              fpu: float) -> None:
    """Back `value` (for player `to_play`) up `path`, replacing each edge's virtual loss.

    One pass both adds the real visit and takes back the virtual one. `backup`
    is the compiled twin of this function.
    """
    visits = 1.0 - virtual_loss
    for node, i in path:
        v = value if node.to_play == to_play else -value
        node.value_sum += v
        N = node.N
        n = N[i] + visits
        N[i] = n
        w = node.W[i] + v + virtual_loss
        node.W[i] = w
        node.Q[i] = w / n if n > 0 else fpu
        node.PU[i] = node.prior[i] / (1.0 + n)
        node.visits += visits


def expand_stats_py(priors: np.ndarray, legal: list[int] | bytes | bytearray | np.ndarray,
                    fpu: float) -> tuple[int, np.ndarray, np.ndarray]:
    """(k, the k legal actions as int64, float64 (5, k) statistics) of a newly evaluated node.

    `legal` is the list of legal actions (ascending) or a mask over all
    actions. The priors over all actions are restricted to the legal ones
    and normalised to sum to 1; the rows are N = 0, W = 0, Q = fpu, PU = P
    and P. `expand_stats` is the compiled twin.
    """
    if isinstance(legal, list):
        actions = np.array(legal, dtype=np.int64)
    else:
        mask = np.frombuffer(legal, dtype=np.int8) if isinstance(legal, bytes | bytearray) else legal
        actions = np.asarray(mask).nonzero()[0].astype(np.int64)
    k = len(actions)
    stats = np.zeros((5, k))
    p = priors[actions].astype(np.float64)
    total = p.sum()
    # A network that puts no mass on any legal move still must be searchable.
    if total > 0:
        p /= total
    else:
        p[:] = 1.0 / k
    stats[2] = fpu
    stats[3] = p
    stats[4] = p
    return k, actions, stats


def expand_backup_py(leaf: Node, priors: np.ndarray, legal: list[int] | bytes | bytearray,
                     fpu: float, path: list[tuple[Node, int]], virtual_loss: float,
                     value: float) -> None:
    """An evaluated leaf: its statistics from `priors`, its own visit, then the backup.

    `expand_backup` is the compiled twin (one call instead of three).
    """
    k, leaf.move_buffer, leaf.stats = expand_stats(priors, legal, fpu)
    leaf._views = leaf._actions = leaf._clean_prior = None
    leaf.children = [None] * k
    leaf.expanded = True
    leaf.pending = False
    leaf.visits += 1
    leaf.value_sum += value
    backup(path, leaf.to_play, value, virtual_loss, fpu)


def _visit(node: Node, i: int, visits: float, value: float, fpu: float) -> None:
    N, W = node.N, node.W
    N[i] += visits
    W[i] += value
    n = N[i]
    node.Q[i] = W[i] / n if n > 0 else fpu
    node.PU[i] = node.prior[i] / (1.0 + n)
    node.visits += visits


if _puct is not None:
    descend, backup, expand_stats = _puct.descend, _puct.backup, _puct.expand_stats
    expand_backup = _puct.expand_backup
else:  # pragma: no cover
    descend, backup, expand_stats = descend_py, backup_py, expand_stats_py
    expand_backup = expand_backup_py


@contextmanager
def paused_gc() -> Iterator[None]:
    """Turn Python's cyclic garbage collector off for a search, and back on after it.

    A search allocates many small tracked objects (nodes, paths), so the
    collector would run often and walk the whole tree each time it reaches
    the older generations, a fifth of the search's cost on Go; a tree has
    no reference cycles (children do not point back), so reference counting
    alone frees it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Pending:
    """A leaf waiting for its evaluation, and the path of (node, child index) that led to it."""

    path: list[tuple[Node, int]]
    leaf: Node
    virtual_loss: float


class MCTS:
    """One search tree, rooted at a copy of `state`."""

    def __init__(self, state: GameState, config: SearchConfig | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.config = config or SearchConfig()
        self.rng = rng or np.random.default_rng()
        self.root = Node(state.copy())
        self.collisions = 0  # leaves found already in flight (batched search)

    # -- one simulation, in two halves -----------------------------------

    def select_leaf(self, virtual_loss: float = 0.0) -> Pending | None:
        """Walk down by PUCT to a position the network has not seen.

        Returns the leaf to evaluate, or None when the walk ended on a
        terminal position (already backed up: a finished simulation) or on
        a leaf already in flight (a collision: nothing changed).
        """
        cfg = self.config
        path, node, i, action = descend(self.root, cfg.c_base, cfg.c_init, virtual_loss, cfg.fpu)
        if i >= 0:  # the walk took a move never tried before: its position is the leaf
            state = node.state.copy()
            state.play(action)
            child = node.children[i] = Node(state)
            node = child
        if node.terminal:
            self._backup(path, node, node.terminal_value, virtual_loss)
            return None
        if node.pending:
            for parent, i in path:
                self._visit(parent, i, -virtual_loss, virtual_loss)
            self.collisions += 1
            return None
        node.pending = True
        return Pending(path, node, virtual_loss)

    def expand(self, pending: Pending, priors: np.ndarray, value: float) -> None:
        """Give the leaf its network priors and back up its value (for the side to move there)."""
        leaf = pending.leaf
        cfg = self.config
        value = float(value)
        try:
            expand_backup(leaf, priors, leaf.state.legal_for_search(), cfg.fpu, pending.path,
                          pending.virtual_loss, value)
        except TypeError:  # priors of another dtype than float32/float64
            leaf.expand(priors, cfg.fpu)
            self._backup(pending.path, leaf, value, pending.virtual_loss)
        # (The root is only ever a leaf with an empty path: noise after its backup is the same.)
        if leaf is self.root and cfg.root_noise:
            self.add_root_noise()

    def _visit(self, node: Node, i: int, visits: float, value: float) -> None:
        _visit(node, i, visits, value, self.config.fpu)

    def _backup(self, path: list[tuple[Node, int]], leaf: Node, value: float,
                virtual_loss: float) -> None:
        leaf.visits += 1
        leaf.value_sum += value
        backup(path, leaf.to_play, value, virtual_loss, self.config.fpu)

    # -- whole searches ----------------------------------------------------

    def search(self, evaluate: Evaluate, sims: int | None = None, batch: int = 1,
               deadline: float | None = None) -> int:
        """Run `sims` simulations (default config.sims) from the root; returns how many ran.

        With batch > 1, up to `batch` leaves go to `evaluate` in one call,
        kept apart by the virtual loss. With a `deadline` (a time.perf_counter()
        value) the search stops at the first batch boundary past it, after at
        least one batch, so that a move is always ready in time.
        """
        todo = self.config.sims if sims is None else sims
        with paused_gc():
            left = self._search(evaluate, todo, batch, deadline)
        return todo - left

    def _search(self, evaluate: Evaluate, todo: int, batch: int,
                deadline: float | None = None) -> int:
        vl = self.config.virtual_loss if batch > 1 else 0.0
        clock = time.perf_counter
        first = True
        while todo > 0:
            if deadline is not None and not first and self.root.expanded and clock() >= deadline:
                return todo
            first = False
            pendings: list[Pending] = []
            for _ in range(min(batch, todo)):
                collisions = self.collisions
                pending = self.select_leaf(vl)
                if pending is None:
                    if self.collisions != collisions:
                        break  # the walk hit a leaf in flight: evaluate what we have
                    todo -= 1
                    if self.root.terminal:
                        return 0
                    continue
                pendings.append(pending)
            if pendings:
                priors, values = evaluate([p.leaf.state for p in pendings])
                for k, pending in enumerate(pendings):
                    self.expand(pending, priors[k], float(values[k]))
                todo -= len(pendings)
        return 0

    def add_root_noise(self) -> None:
        """Mix fresh Dirichlet noise into the root's (noise-free) priors."""
        root = self.root
        if not root.expanded:
            return
        k = len(root.actions)
        alpha = self.config.alpha_scale / k
        eps = self.config.noise_epsilon
        noise = self.rng.dirichlet(np.full(k, alpha))
        root.set_prior((1.0 - eps) * root.clean_prior + eps * noise)

    # -- reading the result ------------------------------------------------

    def visit_counts(self) -> tuple[list[int], np.ndarray]:
        """(legal actions, their visit counts) at the root."""
        root = self.root
        if not root.expanded:
            return [], np.zeros(0)
        return root.actions, root.N.copy()

    def policy(self, num_actions: int) -> np.ndarray:
        """The visit distribution over all actions (the policy training target)."""
        out = np.zeros(num_actions, dtype=np.float32)
        actions, counts = self.visit_counts()
        total = counts.sum()
        if total > 0:
            out[actions] = counts / total
        return out

    def choose(self, move_number: int) -> int:
        """The move to play: sampled by N^(1/T) for the first temperature_moves moves, else the most visited."""
        actions, counts = self.visit_counts()
        if not actions:
            raise ValueError("the root has not been searched")
        cfg = self.config
        if move_number < cfg.temperature_moves and cfg.temperature > 0 and counts.sum() > 0:
            weights = counts ** (1.0 / cfg.temperature)
            return actions[int(self.rng.choice(len(actions), p=weights / weights.sum()))]
        best = np.flatnonzero(counts == counts.max())
        # Ties (e.g. equal visits) go to the higher prior, then the lower action: no hidden randomness.
        return actions[int(best[np.argmax(self.root.clean_prior[best])])]

    def root_value(self) -> float:
        """The mean backed-up value of the root, for its player to move (0 before any visit)."""
        root = self.root
        return root.value_sum / root.visits if root.visits else 0.0

    def best_value(self) -> float:
        """Q of the most visited root move, for the root's player (the resignation test)."""
        root = self.root
        if not root.expanded or root.N.max() <= 0:
            return self.root_value()
        return float(root.Q[int(root.N.argmax())])

    def should_resign(self) -> bool:
        """True when the root player's best move is worth less than the resign threshold."""
        threshold = self.config.resign_threshold
        return threshold is not None and self.best_value() < threshold

    def advance(self, action: int) -> None:
        """Move the root along `action`, keeping that subtree's statistics when it was searched.

        Works for either player's move; the rest of the tree is dropped.
        """
        root = self.root
        child = None
        if root.expanded:
            try:
                child = root.children[root.actions.index(action)]
            except ValueError:
                raise ValueError(f"action {action} is not legal at the root") from None
        if child is None:
            state = root.state.copy()
            state.play(action)
            child = Node(state)
        child.pending = False
        self.root = child
        if child.expanded and self.config.root_noise:
            self.add_root_noise()
