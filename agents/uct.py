"""`mcts`: plain UCT with uniformly random rollouts, for any game with a search state.

The baseline that learned agents are measured against (as in OpenSpiel).
Parameters: ``sims`` (simulations per move), ``c`` (UCB1 exploration) and
``time`` (seconds a move may take at most; the match's clock caps it too).
"""

from __future__ import annotations

import math
import random
import time as _time
from typing import Any

import numpy as np

from agents.base import ActionInsight, Insight, SearchAgent, ThinkingClock


class _Node:
    __slots__ = ("action", "parent", "player", "children", "untried", "visits", "wins")

    def __init__(self, action: int | None, parent: _Node | None, player: int | None,
                 untried: list[int]):
        self.action = action
        self.parent = parent
        self.player = player  # who played `action` into this node
        self.children: list[_Node] = []
        self.untried = untried
        self.visits = 0
        self.wins = 0.0  # for `player`: 1 per win, 0.5 per draw


class MCTSAgent(SearchAgent):
    """UCT: UCB1 selection, one expansion, a random rollout, backup of the result."""

    name = "mcts"

    def __init__(self, sims: int = 1000, c: float = 1.4, time: float | None = None):
        if sims < 1:
            raise ValueError(f"sims must be at least 1, got {sims}")
        if not (math.isfinite(c) and c >= 0):  # c=nan would make every UCB1 score nan
            raise ValueError(f"c must be a finite number of at least 0, got {c}")
        self.sims = sims
        self.c = c
        self.clock = ThinkingClock(time)
        self._root: _Node | None = None
        self.last_sims = 0

    def reset(self) -> None:
        self._root = None
        self._random = random.Random(int(self.rng.integers(2**63)))

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        deadline = self.clock.deadline()
        now = _time.perf_counter
        root_state = self.state
        root = _Node(None, None, None, root_state.legal_actions())
        rand = self._random
        c = self.c
        log = math.log
        sqrt = math.sqrt
        done = 0
        for done in range(1, self.sims + 1):
            if deadline is not None and root.children and now() >= deadline:
                done -= 1
                break
            node = root
            state = root_state.copy()
            while not node.untried and node.children:
                scale = c * sqrt(log(node.visits))
                node = max(
                    node.children,
                    key=lambda ch: ch.wins / ch.visits + scale / sqrt(ch.visits),
                )
                state.play(node.action)
            if node.untried:
                action = node.untried.pop(rand.randrange(len(node.untried)))
                mover = state.to_play
                state.play(action)
                child = _Node(action, node, mover,
                              [] if state.is_terminal() else state.legal_actions())
                node.children.append(child)
                node = child
            while not state.is_terminal():
                legal = state.legal_actions()
                state.play(legal[rand.randrange(len(legal))])
            returns = state.returns()
            while node is not None:
                node.visits += 1
                if node.player is not None:
                    node.wins += (returns[node.player] + 1.0) / 2.0
                node = node.parent
        self._root = root
        self.last_sims = done
        best = max(root.children, key=lambda ch: ch.visits)
        return best.action

    def explain(self) -> Insight | None:
        root = self._root
        if root is None or not root.children:
            return None
        prior = 1.0 / len(root.children)
        ranked = sorted(root.children, key=lambda ch: ch.visits, reverse=True)
        moves = [
            ActionInsight(ch.action, self.state.action_label(ch.action),
                          ch.wins / ch.visits, visits=ch.visits, prior=prior)
            for ch in ranked
        ]
        return Insight("mcts", moves, value=moves[0].score,
                       note=f"{root.visits} simulations")
