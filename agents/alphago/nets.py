"""The networks of AlphaGo and what every stage does with them.

AlphaGo has two kinds of network: policy networks p(a|s) (SL, RL) and a
value network v(s). Both are agents/alphazero/network.py's residual tower;
a policy network uses only its policy head, a value network only its value
head (the unused head costs little and keeps one network class). The input
is the engine's own planes (`GoState.planes(history)`): the mover's and the
opponent's stones for the last `history` positions and a to-play plane.

Here too: saving and loading one network (safetensors + meta.json, algo
``alphago-policy`` or ``alphago-value``), random board symmetries of a
batch, and `play_lockstep`, which plays many games at once so that each ply
of all of them is one forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.alphazero.network import NetConfig, PolicyValueNet, load_model, net_config_from_meta
from agents.checkpoint import META, field_int, field_str, read_meta, save_checkpoint
from games.errors import UserError
from games import registry
from games.features import GameFeatures, game_features
from games.go.state import GoState
from games.symmetry import NUM_SYMMETRIES, action_permutation, transform_planes

POLICY, VALUE = "alphago-policy", "alphago-value"


def go_size(game_id: str) -> int:
    """The board size of a Go game id (go5..go19); UserError for anything else."""
    size = registry.go_size(game_id)
    if size is not None:
        return size
    raise UserError(f"game '{game_id}': AlphaGo plays Go only (go5..go19)")


def features_for(game_id: str, history: int) -> GameFeatures:
    go_size(game_id)
    return game_features(game_id, go_history=history)


def new_net(features: GameFeatures, config: NetConfig) -> PolicyValueNet:
    return PolicyValueNet(features.shape, features.num_actions, config)


def save_net(directory: Path, net: PolicyValueNet, kind: str, game_id: str, history: int,
             extra: dict[str, Any] | None = None,
             train_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None) -> None:
    """model.safetensors, the training state `train_state` (tensors, JSON: a stage's
    stage_state.train_state) when given, then meta.json (kind, game, net size, history
    planes, `extra`): checkpoint.save_checkpoint."""
    meta = {"algo": kind, "game": game_id, "net": net.config.to_dict(), "history": history}
    meta.update(extra or {})
    tensors, state = train_state or (None, None)
    save_checkpoint(Path(directory), meta, net.state_dict(), tensors, state)


def load_net(directory: Path, kind: str, device: torch.device | str = "cpu"
             ) -> tuple[PolicyValueNet, GameFeatures, dict[str, Any]]:
    """(network in eval mode, features, meta) from a directory written by `save_net`."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("algo") != kind:
        raise UserError(f"'{directory}' is a '{meta.get('algo')}' checkpoint, not '{kind}'")
    path = directory / META
    history = field_int(meta, "history", path, minimum=1, maximum=64, default=4)
    try:
        features = features_for(field_str(meta, "game", path), history)
    except UserError as exc:
        raise UserError(f"'{path}': field 'game': {exc}") from None
    net = new_net(features, net_config_from_meta(meta, path, features))
    return load_model(net, directory, device), features, meta


# -- symmetries -------------------------------------------------------------------------


def action_maps(n: int) -> np.ndarray:
    """int64 (8, n*n+1): where each action goes under each symmetry (pass stays pass)."""
    maps = np.empty((NUM_SYMMETRIES, n * n + 1), dtype=np.int64)
    for k in range(NUM_SYMMETRIES):
        perm = action_permutation(n, k)  # transformed[a] = original[perm[a]]
        inverse = np.empty(n * n, dtype=np.int64)
        inverse[perm] = np.arange(n * n)
        maps[k, : n * n] = inverse
        maps[k, n * n] = n * n
    return maps


def symmetric_batch(planes: np.ndarray, actions: np.ndarray | None, k: int, maps: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """A batch of planes (B, C, n, n) and its target actions (B,) under symmetry k."""
    out = np.ascontiguousarray(transform_planes(planes, k))
    return out, (maps[k][actions] if actions is not None else None)


# -- playing many games at once -----------------------------------------------------------


def masked_logits(net: PolicyValueNet, planes: np.ndarray, masks: np.ndarray,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """The policy's logits with illegal actions at -inf (planes and masks as numpy)."""
    x = torch.from_numpy(planes).to(device)
    logits, _ = net(x)
    legal = torch.from_numpy(masks.astype(bool)).to(device)
    return logits.masked_fill(~legal, float("-inf"))


@torch.inference_mode()
def sample_moves(net: PolicyValueNet, features: GameFeatures, states: Sequence[GoState],
                 rng: np.random.Generator, greedy: bool = False,
                 device: torch.device | str = "cpu") -> list[int]:
    """One move per state, sampled from the policy over the legal moves (argmax with `greedy`)."""
    planes = features.encode_batch(list(states))
    masks = np.stack([s.legal_mask() for s in states])
    logits = masked_logits(net, planes, masks, device).float()
    if greedy:
        return logits.argmax(1).cpu().tolist()
    probs = torch.softmax(logits, 1).cpu().numpy().astype(np.float64)
    probs /= probs.sum(1, keepdims=True)
    u = rng.random(len(states))[:, None]
    picks = (probs.cumsum(1) < u).sum(1)
    # A u above the last rounded cumulative sum would pick past the end: clamp to the last legal.
    last_legal = [int(np.flatnonzero(m)[-1]) for m in masks]
    return [min(int(p), last) for p, last in zip(picks, last_legal, strict=True)]


#: (game indices, their states, colour to move) -> one action per state
Chooser = Callable[[list[int], list[GoState], int], list[int]]


def play_lockstep(states: list[GoState], choose: Chooser,
                  on_move: Callable[[int, GoState, int], None] | None = None) -> list[GoState]:
    """Play every game to its end, all of them one ply at a time.

    Each round, the unfinished games with black to move go to `choose` in
    one batch, then those with white to move. `on_move(game index, state
    before, action)` sees every move. Returns `states` (played in place).
    """
    while True:
        if all(s.is_terminal() for s in states):
            return states
        for colour in (0, 1):
            idx = [i for i, s in enumerate(states) if not s.is_terminal() and s.to_play == colour]
            if not idx:
                continue
            moves = choose(idx, [states[i] for i in idx], colour)
            for i, action in zip(idx, moves, strict=True):
                if on_move is not None:
                    on_move(i, states[i], action)
                states[i].play(action)
