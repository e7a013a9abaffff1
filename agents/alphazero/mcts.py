"""PUCT Monte Carlo tree search guided by a policy+value network (AlphaZero).

Each node keeps its children's statistics in numpy arrays over its legal
moves, so one selection step is a couple of vector operations and an argmax:

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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from games.state import GameState

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
    """A position in the tree; children's N, W, Q, P live in arrays over its legal moves."""

    __slots__ = (
        "N",
        "PU",
        "Q",
        "W",
        "action_array",
        "actions",
        "children",
        "clean_prior",
        "expanded",
        "pending",
        "prior",
        "state",
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
        actions = self.state.legal_mask().nonzero()[0]
        k = len(actions)
        p = priors[actions].astype(np.float64)
        total = p.sum()
        # A network that puts no mass on any legal move still must be searchable.
        if total > 0:
            p /= total
        else:
            p[:] = 1.0 / k
        self.actions = actions.tolist()
        self.action_array = actions
        self.prior = self.clean_prior = p
        # One allocation for the four statistics rows (this runs once per simulation).
        stats = np.zeros((4, k))
        self.N, self.W, self.Q, self.PU = stats
        if fpu:
            self.Q[:] = fpu
        self.PU[:] = p  # P / (1 + N)
        self.children: list[Node | None] = [None] * k
        self.expanded = True

    def set_prior(self, p: np.ndarray) -> None:
        """Replace the priors (root noise), keeping the visit statistics."""
        self.prior = p
        self.PU = p / (1.0 + self.N)


@dataclass
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
        c_base, c_init = cfg.c_base, cfg.c_init
        log, sqrt = math.log, math.sqrt
        node = self.root
        path: list[tuple[Node, int]] = []
        while node.expanded and not node.terminal:
            n = node.visits
            scale = (log((1.0 + n + c_base) / c_base) + c_init) * sqrt(n)
            # PUCT: Q + C(s) * sqrt(N(s)) * P / (1 + N(s,a)).
            i = int((node.Q + scale * node.PU).argmax())
            path.append((node, i))
            if virtual_loss:
                self._visit(node, i, virtual_loss, -virtual_loss)
            child = node.children[i]
            if child is None:
                state = node.state.copy()
                state.play(node.actions[i])
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
        leaf.pending = False
        leaf.expand(priors, self.config.fpu)
        if leaf is self.root and self.config.root_noise:
            self.add_root_noise()
        self._backup(pending.path, leaf, float(value), pending.virtual_loss)

    def _visit(self, node: Node, i: int, visits: float, value: float) -> None:
        N, W = node.N, node.W
        N[i] += visits
        W[i] += value
        n = N[i]
        node.Q[i] = W[i] / n if n > 0 else self.config.fpu
        node.PU[i] = node.prior[i] / (1.0 + n)
        node.visits += visits

    def _backup(self, path: list[tuple[Node, int]], leaf: Node, value: float,
                virtual_loss: float) -> None:
        to_play = leaf.to_play
        leaf.visits += 1
        leaf.value_sum += value
        fpu = self.config.fpu
        visits = 1.0 - virtual_loss
        # One pass both adds the real visit and takes back the virtual one
        # (the body of _visit, inlined: this loop is the hottest in the search).
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

    # -- whole searches ----------------------------------------------------

    def search(self, evaluate: Evaluate, sims: int | None = None, batch: int = 1) -> None:
        """Run `sims` simulations (default config.sims) from the root.

        With batch > 1, up to `batch` leaves go to `evaluate` in one call,
        kept apart by the virtual loss.
        """
        todo = self.config.sims if sims is None else sims
        vl = self.config.virtual_loss if batch > 1 else 0.0
        while todo > 0:
            pendings: list[Pending] = []
            for _ in range(min(batch, todo)):
                collisions = self.collisions
                pending = self.select_leaf(vl)
                if pending is None:
                    if self.collisions != collisions:
                        break  # the walk hit a leaf in flight: evaluate what we have
                    todo -= 1
                    if self.root.terminal:
                        return
                    continue
                pendings.append(pending)
            if pendings:
                priors, values = evaluate([p.leaf.state for p in pendings])
                for k, pending in enumerate(pendings):
                    self.expand(pending, priors[k], float(values[k]))
                todo -= len(pendings)

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
