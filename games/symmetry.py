"""The 8 symmetries of a square board (the dihedral group D4), for data augmentation.

Symmetry ``k`` (0..7) is "rotate a quarter turn counter-clockwise ``k % 4``
times (as numpy.rot90 does), then, when ``k >= 4``, mirror left-right".
k=0 is the identity. Points are (row, column) with row 0 at the top, and an
action is ``row * n + column``; an action >= n*n (pass) is never moved.

The three functions agree: transforming the planes and the policy with the
same k moves each point's probability along with the point, and
``transform_action`` says where a single action goes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NUM_SYMMETRIES = 8


def _check(k: int) -> None:
    if not 0 <= k < NUM_SYMMETRIES:
        raise ValueError(f"symmetry must be 0..7, got {k}")


def inverse(k: int) -> int:
    """The symmetry that undoes k: transform with k, then with inverse(k), gives the input."""
    _check(k)
    # Rotations undo by turning the rest of the way; mirrored ones are reflections, so self-inverse.
    return (4 - k) % 4 if k < 4 else k


def transform_planes(planes: np.ndarray, k: int) -> np.ndarray:
    """`planes` (..., n, n) under symmetry k, applied to the last two axes (a new array)."""
    _check(k)
    out = np.rot90(planes, k % 4, axes=(-2, -1))
    if k >= 4:
        out = np.flip(out, axis=-1)
    return np.ascontiguousarray(out)


def transform_point(row: int, col: int, n: int, k: int) -> tuple[int, int]:
    """Where point (row, col) of an n x n board lands under symmetry k."""
    _check(k)
    for _ in range(k % 4):
        # np.rot90 once: out[i, j] = in[j, n-1-i], so (r, c) goes to (n-1-c, r).
        row, col = n - 1 - col, row
    if k >= 4:
        col = n - 1 - col
    return row, col


def transform_action(action: int, n: int, k: int) -> int:
    """Where `action` (row * n + col) goes under symmetry k; actions >= n*n are unchanged."""
    _check(k)
    if action >= n * n:
        return action
    if action < 0:
        raise ValueError(f"action must be >= 0, got {action}")
    row, col = transform_point(action // n, action % n, n, k)
    return row * n + col


@lru_cache(maxsize=256)
def _permutation(n: int, k: int) -> np.ndarray:
    # perm[a] = the action that ends up at point a, i.e. the inverse map.
    perm = transform_planes(np.arange(n * n).reshape(n, n), k).ravel()
    perm.flags.writeable = False
    return perm


def action_permutation(n: int, k: int) -> np.ndarray:
    """perm (n*n,), read-only, with ``transformed[a] = original[perm[a]]`` for per-point vectors."""
    _check(k)
    return _permutation(n, k)


def transform_policy(policy: np.ndarray, n: int, k: int) -> np.ndarray:
    """A policy over the n*n points (plus optionally a final pass entry) under symmetry k.

    The probability of each point moves to ``transform_action`` of it; pass
    stays last. Works on batches: the last axis is the policy. Returns a new array.
    """
    _check(k)
    m = policy.shape[-1]
    if m not in (n * n, n * n + 1):
        raise ValueError(f"policy has {m} entries; a {n}x{n} board needs {n * n} or {n * n + 1}")
    out = policy.copy()
    out[..., : n * n] = policy[..., _permutation(n, k)]
    return out
