"""Replay: the training data the learners keep in fixed-size rings, and its files.

Four layouts of one ring (`_Ring`: the slot of each new entry, the oldest overwritten
once full, the filled part saved and restored by name and checked on load):

`ReplayBuffer` (vector observations): DQN's transitions
    obs and next_obs as float32 rows, plus action, reward and `terminated`.
    Small observations (CartPole: 16 bytes) make the duplication of next_obs
    irrelevant, and it keeps time-limit truncation exact.

`MaskedReplay` (board self-play): a ReplayBuffer whose transitions also keep the
    next state's legal mask, so that DQN's target max over a' (and double DQN's
    argmax) range over the moves that are legal there. Board planes are 0/1 and
    kept as uint8 (a quarter of float32).

`FrameReplayBuffer` (stacked uint8 pixels, e.g. Atari's (4, 84, 84))
    A frame-stacked observation shares 3 of its 4 frames with the next one, so
    storing whole stacks would keep every frame 8 times (4 per obs, 4 per
    next_obs). Here every single frame is stored once, in a ring of frames,
    and each stored frame records `prev`: the slot of the frame before it *in
    the same episode*. The first frame of an episode points to itself. A
    transition keeps only the slot of the newest frame of obs and of next_obs;
    sampling rebuilds a stack by following `prev` stack-1 times. Because
    pointers never leave an episode, a stack can never mix episodes, and the
    self-pointer repeats the first frame exactly like gymnasium's
    FrameStackObservation(padding_type="reset") pads a fresh episode.

    The buffer never has to trust that: `add` receives the real stacks and
    writes the frames needed to reproduce them exactly. When next_obs[:-1]
    equals obs[1:] (the normal step) it writes one frame, next_obs[-1]; at an
    episode start, or for any stack that does not continue the previous one, it
    writes the stack as a new chain (one frame for a reset-padded stack whose
    frames are all equal). So `sample` returns bit-for-bit the arrays that
    were added, whatever the padding.

    The frame ring holds a little more than `capacity` frames (episode starts
    cost frames too). Every frame carries its write number (`frame_serial`); a
    transition whose oldest frame has been overwritten is invalid and is never
    sampled (sampling redraws it). Memory per transition: one 84x84 frame (7,056
    bytes) plus the 3% spare frames and 62 bytes of indices, 7,339 bytes in
    all; 1M Atari transitions take 7.3 GB, where whole uint8 stacks for obs and
    next_obs would take 56 GB.

`ReplayWindow` (AlphaZero): the newest self-play positions with their visit
    distributions and results, drawn under a random symmetry of the game.

Sampling of transitions is uniform over the stored (valid) ones, vectorised numpy,
from the buffer's own seeded generator, whose state is saved with the buffer, so a
resumed run draws the same batches as an uninterrupted one.

n-step returns: `sample(batch, n_step=n, gamma=g)` sums up to n discounted
rewards of the same env's following transitions, stopping at the episode's
end, and hands back the observation to bootstrap from with its discount g**m
(m <= n steps taken). Each `add` writes one transition per env in env order,
so env e's next transition is num_envs slots further on; a per-transition
write number (`order`) tells a real successor from an overwritten or unwritten slot.

Files: replay.safetensors (ReplayBuffer, FrameReplayBuffer: the arrays, with the
counters and RNG as JSON under the "arena_replay" metadata key; `load_replay_buffer`),
replay.safetensors of a MaskedReplay (the arrays alone; its counters and RNG are
`state()`, kept in DQN's train_state.json) and window.safetensors (the window's
arrays; its position is AlphaZero's train_state.json "window_pos").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from agents.checkpoint import atomic_save_tensors, load_tensors
from games.errors import UserError

_META_KEY = "arena_replay"


@dataclass
class Batch:
    """A sample of transitions (numpy arrays, first axis = batch)."""

    obs: np.ndarray  # float32
    actions: np.ndarray  # int64
    rewards: np.ndarray  # float32: r_t, or the discounted sum of up to n rewards
    next_obs: np.ndarray  # the observation to bootstrap from (s_{t+1}, or s_{t+m}), float32
    terminated: np.ndarray  # float32, 1.0 where next_obs is terminal (no bootstrapping)
    discounts: np.ndarray  # float32, gamma ** m: how far next_obs lies ahead
    next_masks: np.ndarray | None = None  # bool (B, A): the legal actions of next_obs (boards)


class _Ring:
    """Ring indexing: `capacity` slots written in turn, the oldest overwritten once full;
    the filled part of its arrays, by name, as tensors for a file and back."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("replay capacity must be at least 1")
        self.capacity = int(capacity)
        self.pos = 0  # next slot to write
        self.size = 0  # entries stored
        self.added = 0  # entries ever added

    def __len__(self) -> int:
        return self.size

    def _advance(self, count: int) -> np.ndarray:
        """The slots of the next `count` entries, in order; moves the write position."""
        slots = (self.pos + np.arange(count)) % self.capacity
        self.pos = int((self.pos + count) % self.capacity)
        self.size = min(self.size + count, self.capacity)
        self.added += count
        return slots

    def _filled(self, names: Iterable[str], count: int | None = None) -> dict[str, torch.Tensor]:
        """The stored part (the first `count` rows, default `size`) of each named array, as
        tensors for safetensors."""
        n = self.size if count is None else count
        return {name: torch.from_numpy(np.ascontiguousarray(getattr(self, name)[:n]))
                for name in names}

    @property
    def nbytes(self) -> int:
        """Bytes held by the ring's arrays."""
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))


def check_arrays(path: Path, tensors: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]],
                 needs: str = "its metadata needs") -> None:
    """UserError naming `path` and the array when one of `shapes` is missing or has
    another shape (before anything is allocated from it)."""
    for name, shape in shapes.items():
        if name not in tensors:
            raise UserError(f"'{path}' lacks array {name!r}")
        if tuple(tensors[name].shape) != tuple(shape):
            raise UserError(f"'{path}': array {name!r} has shape {list(tensors[name].shape)}; "
                            f"{needs} {list(shape)}")


class _Transitions(_Ring):
    """What the transition layouts share: actions, rewards, end flags, write numbers,
    n-step walks and the sampling RNG."""

    kind = "ring"

    def __init__(self, capacity: int, obs_shape: Sequence[int], num_envs: int,
                 seed: int | Sequence[int]):
        super().__init__(capacity)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.num_envs = int(num_envs)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.bool_)
        self.done = np.zeros(self.capacity, dtype=np.bool_)  # terminated or truncated
        self.order = np.zeros(self.capacity, dtype=np.int64)  # `added` when written
        self.rng = np.random.default_rng(seed)

    def _advance(self, count: int) -> np.ndarray:
        """The ring slots for one transition per env; moves the write position."""
        if count != self.num_envs:
            raise ValueError(f"add() takes one transition per env ({self.num_envs}), got {count}")
        first = self.added
        slots = super()._advance(count)
        self.order[slots] = first + np.arange(count)
        return slots

    def _store_common(self, slots: np.ndarray, actions: Any, rewards: Any, terminated: Any,
                      done: Any) -> None:
        self.actions[slots] = np.asarray(actions, dtype=np.int64).reshape(-1)
        self.rewards[slots] = np.asarray(rewards, dtype=np.float32).reshape(-1)
        self.terminated[slots] = np.asarray(terminated, dtype=np.bool_).reshape(-1)
        self.done[slots] = np.asarray(done, dtype=np.bool_).reshape(-1)

    def _n_step(self, idx: np.ndarray, n_step: int, gamma: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(discounted reward sums, gamma ** m, index of the last transition used).

        Walks forward through each sampled transition's env, at most n_step
        transitions, stopping after one that ends its episode or where the
        successor is not stored (overwritten, or not yet played).
        """
        rewards = self.rewards[idx].copy()
        discounts = np.full(len(idx), gamma, dtype=np.float32)
        last = idx.copy()
        going = ~self.done[idx]
        for k in range(1, n_step):
            nxt = (idx + k * self.num_envs) % self.capacity
            going &= self.order[nxt] == self.order[idx] + k * self.num_envs
            if not going.any():
                break
            rewards[going] += discounts[going] * self.rewards[nxt[going]]
            discounts[going] *= gamma
            last[going] = nxt[going]
            going &= ~self.done[nxt]
        return rewards, discounts, last

    def _draw(self, batch_size: int) -> np.ndarray:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return self.rng.integers(0, self.size, size=batch_size)

    # -- persistence -------------------------------------------------------------------------

    _ARRAYS: tuple[str, ...] = ("actions", "rewards", "terminated", "done", "order")

    def tensors(self) -> dict[str, torch.Tensor]:
        """The stored arrays, as the file keeps them."""
        return self._filled(self._ARRAYS)

    def state(self) -> dict[str, Any]:
        """Counters, shape and the sampling RNG, JSON-able."""
        return {"kind": self.kind, "capacity": self.capacity, "obs_shape": list(self.obs_shape),
                "num_envs": self.num_envs, "pos": self.pos, "size": self.size,
                "added": self.added, "rng": self.rng.bit_generator.state}

    def _restore(self, tensors: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        n = int(meta["size"])
        self.pos, self.size, self.added = int(meta["pos"]), n, int(meta["added"])
        for name in self._ARRAYS:
            getattr(self, name)[:n] = np.asarray(tensors[name])
        self.rng.bit_generator.state = meta["rng"]

    def save(self, path: Path) -> None:
        """Write the stored transitions, with the counters and sampling RNG as metadata."""
        atomic_save_tensors(Path(path), self.tensors(), {_META_KEY: json.dumps(self.state())})


class ReplayBuffer(_Transitions):
    """Transitions with vector observations, stored as float32 rows (`obs_dtype`), with
    each next state's legal mask when `num_actions` is given."""

    kind = "vector"
    _ARRAYS = (*_Transitions._ARRAYS, "obs", "next_obs")

    def __init__(self, capacity: int, obs_shape: Sequence[int], num_envs: int = 1,
                 seed: int | Sequence[int] = 0, *, obs_dtype: Any = np.float32,
                 num_actions: int | None = None):
        super().__init__(capacity, obs_shape, num_envs, seed)
        self.obs = np.zeros((self.capacity, *self.obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *self.obs_shape), dtype=obs_dtype)
        self.next_masks = (None if num_actions is None
                           else np.zeros((self.capacity, int(num_actions)), dtype=np.bool_))

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
            next_obs: np.ndarray, terminated: np.ndarray, done: np.ndarray,
            next_masks: np.ndarray | None = None) -> None:
        """Store one transition per env (arrays with a leading num_envs axis).

        `next_obs` must be the observation the step really produced (the final
        one when an episode ended), `terminated` true only for true terminal
        states, `done` = terminated or truncated (where n-step returns stop);
        `next_masks` the legal actions of next_obs (a buffer with num_actions).
        """
        slots = self._advance(len(actions))
        self.obs[slots] = obs
        self.next_obs[slots] = next_obs
        if self.next_masks is not None:
            self.next_masks[slots] = next_masks
        self._store_common(slots, actions, rewards, terminated, done)

    def sample(self, batch_size: int, n_step: int = 1, gamma: float = 1.0) -> Batch:
        """`batch_size` transitions drawn uniformly with replacement (n-step: see module doc)."""
        idx = self._draw(batch_size)
        rewards, discounts, last = self._n_step(idx, n_step, gamma)
        masks = None if self.next_masks is None else self.next_masks[last]
        return Batch(self.obs[idx].astype(np.float32, copy=False), self.actions[idx], rewards,
                     self.next_obs[last].astype(np.float32, copy=False),
                     self.terminated[last].astype(np.float32), discounts, masks)


class MaskedReplay(ReplayBuffer):
    """A ring of board self-play transitions (s, a, r, s', legal(s'), terminated): a
    ReplayBuffer with next masks and the 0/1 planes as uint8.

    Its file is the layout DQN has always written for board games: the arrays alone
    (obs, next_obs, next_masks, actions, rewards, and terminated as float32), with
    `state()` (size, pos, rng) kept by the caller (train_state.json "board_replay").
    Every board episode ends in a real terminal, so done is terminated.
    """

    kind = "masked"
    _ARRAYS = ("obs", "next_obs", "next_masks", "actions", "rewards", "terminated")

    def __init__(self, capacity: int, obs_shape: Sequence[int], num_actions: int,
                 num_envs: int = 1, seed: int | Sequence[int] = 0):
        super().__init__(capacity, obs_shape, num_envs, seed, obs_dtype=np.uint8,
                         num_actions=num_actions)

    def tensors(self) -> dict[str, torch.Tensor]:
        tensors = super().tensors()
        tensors["terminated"] = tensors["terminated"].float()
        return tensors

    def state(self) -> dict[str, Any]:
        return {"size": self.size, "pos": self.pos, "rng": self.rng.bit_generator.state}

    def save(self, path: Path) -> None:
        """Write the stored arrays (`state()` is the caller's to keep)."""
        atomic_save_tensors(Path(path), self.tensors())

    def _restore(self, tensors: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        n = int(meta["size"])
        for name in self._ARRAYS:
            getattr(self, name)[:n] = np.asarray(tensors[name])
        self.done[:n] = self.terminated[:n]
        self.pos, self.size, self.added = int(meta["pos"]), n, n
        start = self.pos if n == self.capacity else 0  # the oldest transition's slot
        self.order[(start + np.arange(n)) % self.capacity] = np.arange(n)
        self.rng.bit_generator.state = meta["rng"]


class FrameReplayBuffer(_Transitions):
    """Transitions with stacked uint8 frame observations; every frame stored once (see module doc)."""

    kind = "frames"

    def __init__(self, capacity: int, obs_shape: Sequence[int], num_envs: int = 1, seed: int = 0,
                 frame_capacity: int | None = None):
        super().__init__(capacity, obs_shape, num_envs, seed)
        if len(self.obs_shape) < 2:
            raise ValueError(f"frame stacks need a (stack, ...) shape, got {self.obs_shape}")
        self.stack = self.obs_shape[0]
        frame_shape = self.obs_shape[1:]
        # Room for every transition's new frame, the frames episode starts add, and
        # the chains in progress; a bit more only means fewer transitions go invalid.
        floor = 4 * self.stack * self.stack * self.num_envs
        if frame_capacity is None:
            frame_capacity = self.capacity + max(self.capacity // 32, floor)
        if frame_capacity < floor:
            raise ValueError(f"frame_capacity must be at least {floor}")
        self.frame_capacity = int(frame_capacity)
        self.frames = np.zeros((self.frame_capacity, *frame_shape), dtype=np.uint8)
        self.prev = np.zeros(self.frame_capacity, dtype=np.int64)  # same-episode predecessor slot
        self.frame_serial = np.full(self.frame_capacity, -1, dtype=np.int64)  # frame's write number
        self.frames_written = 0
        self.obs_slot = np.zeros(self.capacity, dtype=np.int64)  # newest frame of obs
        self.next_slot = np.zeros(self.capacity, dtype=np.int64)  # newest frame of next_obs
        self.oldest = np.zeros(self.capacity, dtype=np.int64)  # serial of the oldest frame used
        # Per env: the slot of the newest frame of its current observation (-1: none yet)
        # and the serial of that stack's oldest frame.
        self.head = np.full(self.num_envs, -1, dtype=np.int64)
        self.head_oldest = np.zeros(self.num_envs, dtype=np.int64)

    # -- writing -----------------------------------------------------------------------------

    def _write_frame(self, frame: np.ndarray, prev: int | None) -> int:
        slot = self.frames_written % self.frame_capacity
        self.frames[slot] = frame
        self.prev[slot] = slot if prev is None else prev
        self.frame_serial[slot] = self.frames_written
        self.frames_written += 1
        return slot

    def _write_chain(self, stack: np.ndarray) -> tuple[int, int]:
        """Write a whole stack as a new chain: (newest slot, serial of its oldest frame).

        Leading frames equal to the first are not repeated: the first frame's
        self-pointer already reproduces them.
        """
        first = self._write_frame(stack[0], None)
        slot, alone = first, True
        for frame in stack[1:]:
            if alone and np.array_equal(frame, stack[0]):
                continue
            slot, alone = self._write_frame(frame, slot), False
        return slot, int(self.frame_serial[first])

    def _oldest_serial(self, slot: int) -> int:
        for _ in range(self.stack - 1):
            slot = int(self.prev[slot])
        return int(self.frame_serial[slot])

    def _alive(self, oldest_serial: np.ndarray | int) -> Any:
        """True where a stack whose oldest frame has this serial is still intact."""
        return oldest_serial >= self.frames_written - self.frame_capacity

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
            next_obs: np.ndarray, terminated: np.ndarray, done: np.ndarray,
            next_masks: np.ndarray | None = None) -> None:
        """Store one transition per env (arrays with a leading num_envs axis).

        `next_obs` must be what the step really produced (the final observation
        when an episode ended); `done` (terminated or truncated) ends the env's
        chain, so the next episode's frames never point back into this one.
        Pixel games have no legal masks (`next_masks` None).
        """
        if next_masks is not None:
            raise ValueError("a frame replay keeps no legal masks")
        slots = self._advance(len(actions))
        for env, slot in enumerate(slots):
            o, n = obs[env], next_obs[env]
            head = int(self.head[env])
            if head >= 0 and self._alive(self.head_oldest[env]):
                o_slot, o_oldest = head, int(self.head_oldest[env])
            else:  # a new episode (or a chain lost to a tiny ring): write obs itself
                o_slot, o_oldest = self._write_chain(o)
            if np.array_equal(n[:-1], o[1:]):
                n_slot = self._write_frame(n[-1], o_slot)
                n_oldest = self._oldest_serial(n_slot)
            else:
                n_slot, n_oldest = self._write_chain(n)
            self.obs_slot[slot], self.next_slot[slot] = o_slot, n_slot
            self.oldest[slot] = min(o_oldest, n_oldest)
            if done[env]:
                self.head[env] = -1
            else:
                self.head[env], self.head_oldest[env] = n_slot, n_oldest
        self._store_common(slots, actions, rewards, terminated, done)

    # -- sampling ----------------------------------------------------------------------------

    def _stacks(self, newest: np.ndarray) -> np.ndarray:
        """(B, stack, *frame) from the newest-frame slots, following prev pointers back."""
        slots = np.empty((len(newest), self.stack), dtype=np.int64)
        slots[:, -1] = newest
        for k in range(self.stack - 2, -1, -1):
            slots[:, k] = self.prev[slots[:, k + 1]]
        return self.frames[slots]

    def sample(self, batch_size: int, n_step: int = 1, gamma: float = 1.0) -> Batch:
        """`batch_size` transitions drawn uniformly (with replacement) from the intact ones.

        A transition's successors are newer than it, so its n-step frames are intact too.
        """
        idx = self._draw(batch_size)
        for _ in range(1000):
            bad = ~self._alive(self.oldest[idx])
            if not bad.any():
                break
            idx[bad] = self.rng.integers(0, self.size, size=int(bad.sum()))
        else:
            raise RuntimeError("replay buffer: no intact transitions to sample")
        rewards, discounts, last = self._n_step(idx, n_step, gamma)
        return Batch(self._stacks(self.obs_slot[idx]), self.actions[idx], rewards,
                     self._stacks(self.next_slot[last]), self.terminated[last].astype(np.float32),
                     discounts)

    # -- persistence -------------------------------------------------------------------------

    _ARRAYS = (*_Transitions._ARRAYS, "obs_slot", "next_slot", "oldest")

    def tensors(self) -> dict[str, torch.Tensor]:
        f = min(self.frames_written, self.frame_capacity)
        return {**super().tensors(), **self._filled(("frames", "prev", "frame_serial"), f)}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "frame_capacity": self.frame_capacity,
                "frames_written": self.frames_written, "head": self.head.tolist(),
                "head_oldest": self.head_oldest.tolist()}

    def _restore(self, tensors: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        super()._restore(tensors, meta)
        f = min(int(meta["frames_written"]), self.frame_capacity)
        self.frames[:f] = tensors["frames"]
        self.prev[:f] = tensors["prev"]
        self.frame_serial[:f] = tensors["frame_serial"]
        self.frames_written = int(meta["frames_written"])
        self.head[:] = meta["head"]
        self.head_oldest[:] = meta["head_oldest"]


AnyReplay = ReplayBuffer | FrameReplayBuffer | MaskedReplay


def make_replay_buffer(capacity: int, obs_shape: Sequence[int], obs_dtype: str,
                       num_envs: int = 1, seed: int | Sequence[int] = 0,
                       num_actions: int | None = None) -> AnyReplay:
    """The layout that suits the observations: masked transitions where the next states'
    legal masks are kept (`num_actions`: board self-play), frames for (C, H, W) uint8
    stacks, else vector."""
    if num_actions is not None:
        return MaskedReplay(capacity, obs_shape, num_actions, num_envs, seed)
    if len(obs_shape) == 3 and obs_dtype == "uint8":
        return FrameReplayBuffer(capacity, obs_shape, num_envs, seed)
    return ReplayBuffer(capacity, obs_shape, num_envs, seed)


#: The most transitions a replay buffer holds (agents/dqn.py MAX_BUFFER is the same).
MAX_CAPACITY = 50_000_000

def _check_replay(path: Path, meta: Any, tensors: dict[str, np.ndarray],
                  expect: dict[str, Any]) -> None:
    """UserError naming `path` and the field or array when the replay's metadata or arrays
    do not fit the run (`expect`: capacity, obs_shape, num_envs) or the limits; nothing
    has been allocated yet."""
    from agents.checkpoint import field_int, field_shape, field_str, short

    if not isinstance(meta, dict):
        raise UserError(f"'{path}': its replay metadata is not a JSON object")
    kind = field_str(meta, "kind", path)
    if kind not in ("frames", "vector"):
        raise UserError(f"'{path}': field 'kind': unknown replay buffer kind {short(kind)}")
    capacity = field_int(meta, "capacity", path, minimum=1, maximum=MAX_CAPACITY)
    obs_shape = field_shape(meta, "obs_shape", path)
    num_envs = field_int(meta, "num_envs", path, minimum=1, maximum=capacity)
    got = {"capacity": capacity, "obs_shape": obs_shape, "num_envs": num_envs}
    for key, want in expect.items():
        if want is not None and got[key] != (tuple(want) if key == "obs_shape" else int(want)):
            raise UserError(f"'{path}': field '{key}': {short(got[key])} does not match the "
                            f"run's {short(want)}")
    size = field_int(meta, "size", path, minimum=0, maximum=capacity)
    field_int(meta, "pos", path, minimum=0, maximum=capacity - 1)
    field_int(meta, "added", path, minimum=0)
    shapes: dict[str, tuple[int, ...]] = {k: (size,) for k in _Transitions._ARRAYS}
    if kind == "vector":
        shapes.update(obs=(size, *obs_shape), next_obs=(size, *obs_shape))
    else:
        if len(obs_shape) < 2:
            raise UserError(f"'{path}': field 'obs_shape': {list(obs_shape)} is not a frame "
                            "stack shape")
        floor = 4 * obs_shape[0] * obs_shape[0] * num_envs
        frame_capacity = field_int(meta, "frame_capacity", path, minimum=floor,
                                   maximum=2 * capacity + floor)
        written = field_int(meta, "frames_written", path, minimum=0)
        f = min(written, frame_capacity)
        shapes.update(obs_slot=(size,), next_slot=(size,), oldest=(size,),
                      frames=(f, *obs_shape[1:]), prev=(f,), frame_serial=(f,))
        for key in ("head", "head_oldest"):
            value = meta.get(key)
            if not isinstance(value, list) or len(value) != num_envs:
                raise UserError(f"'{path}': field '{key}': {short(value)} is not a list of "
                                f"{num_envs} numbers")
    check_arrays(path, tensors, shapes)


def _check_masked(path: Path, state: Any, tensors: Mapping[str, Any], capacity: int,
                  obs_shape: Sequence[int], num_actions: int) -> None:
    """UserError naming `path` when a MaskedReplay's arrays or `state` (its size, pos
    and RNG, kept beside it) do not fit the run's buffer; nothing allocated yet."""
    from agents.checkpoint import field_int, short

    if not isinstance(state, dict):
        raise UserError(f"'{path}': its replay state {short(state)} is not a JSON object")
    size = field_int(state, "size", path, minimum=0, maximum=capacity)
    field_int(state, "pos", path, minimum=0, maximum=capacity - 1)
    shapes = {name: (size,) for name in MaskedReplay._ARRAYS}
    shapes.update(obs=(size, *obs_shape), next_obs=(size, *obs_shape),
                  next_masks=(size, num_actions))
    check_arrays(path, tensors, shapes, needs="the run needs")


def load_replay_buffer(path: Path, capacity: int | None = None,
                       obs_shape: Sequence[int] | None = None,
                       num_envs: int | None = None, *, num_actions: int | None = None,
                       state: Any = None) -> AnyReplay:
    """A buffer saved by `save`, exactly as it was (contents, positions, sampling RNG).

    Refuses pickles and anything that is not an Arena replay file (UserError), and a
    file whose capacity, obs_shape or num_envs differ from the run's (when given) or
    whose arrays do not fit its metadata, before the buffer is allocated. A MaskedReplay
    (`num_actions` given) is the run's buffer (capacity, obs_shape, num_envs) with the
    arrays of `path` and its `state()`, kept beside it.
    """
    raw = load_tensors(Path(path))  # checks the file is safetensors, never unpickles
    tensors = {k: v.numpy() for k, v in raw.items()}
    if num_actions is not None:
        assert capacity is not None and obs_shape is not None and num_envs is not None
        _check_masked(Path(path), state, tensors, capacity, obs_shape, num_actions)
        meta = state
    else:
        with safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {}).get(_META_KEY)
        if text is None:
            raise UserError(f"'{path}' is a safetensors file but not an Arena replay buffer")
        try:
            meta = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise UserError(f"'{path}': its replay metadata is not valid JSON: {exc}") from None
        _check_replay(Path(path), meta, tensors,
                      {"capacity": capacity, "obs_shape": obs_shape, "num_envs": num_envs})
    buffer: AnyReplay
    try:
        if num_actions is not None:
            buffer = MaskedReplay(int(capacity), obs_shape, num_actions, int(num_envs))
        elif meta["kind"] == "frames":
            buffer = FrameReplayBuffer(meta["capacity"], meta["obs_shape"], meta["num_envs"],
                                       frame_capacity=meta["frame_capacity"])
        else:
            buffer = ReplayBuffer(meta["capacity"], meta["obs_shape"], meta["num_envs"])
        buffer._restore(tensors, meta)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise UserError(f"'{path}': its replay metadata cannot be restored: "
                        f"{str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
                        ) from None
    return buffer


class ReplayWindow(_Ring):
    """AlphaZero's newest `capacity` self-play positions: input planes, the search's visit
    distributions and the game results.

    Planes are stored as uint8 (every input plane is 0/1), a quarter of float32,
    so a Go window of 10^5 positions fits in memory; `add` refuses others.
    Storage grows by doubling, so a short run never allocates the whole window.
    """

    _ARRAYS = ("planes", "policies", "values")

    def __init__(self, capacity: int, shape: tuple[int, int, int], num_actions: int) -> None:
        if capacity < 1:
            raise UserError(f"window must hold at least one position, got {capacity}")
        super().__init__(capacity)
        self.shape, self.num_actions = tuple(shape), num_actions
        self._allocate(0)

    def _allocate(self, n: int) -> None:
        planes = np.zeros((n, *self.shape), dtype=np.uint8)
        policies = np.zeros((n, self.num_actions), dtype=np.float32)
        values = np.zeros(n, dtype=np.float32)
        if hasattr(self, "planes"):
            k = min(n, len(self.values))
            planes[:k], policies[:k], values[:k] = self.planes[:k], self.policies[:k], self.values[:k]
        self.planes, self.policies, self.values = planes, policies, values

    def add(self, planes: np.ndarray, policies: np.ndarray, values: np.ndarray) -> None:
        """Append a game's positions, overwriting the oldest once full."""
        as_bytes = planes.astype(np.uint8)
        if not np.array_equal(as_bytes, planes):
            raise ValueError("input planes must be 0/1 to be stored in the window")
        count = len(values)
        keep = slice(max(0, count - self.capacity), None)  # a game longer than the window
        slots = self._advance(count)[keep]
        while len(self.values) < self.size:
            self._allocate(min(self.capacity, max(1024, 2 * len(self.values))))
        self.planes[slots], self.policies[slots] = as_bytes[keep], policies[keep]
        self.values[slots] = values[keep]

    def sample(self, n: int, rng: np.random.Generator, features: Any
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n positions drawn uniformly, each under a random symmetry: float32 planes, policies, values."""
        idx = rng.integers(self.size, size=n)
        planes = np.empty((n, *self.shape), dtype=np.float32)
        policies = np.empty((n, self.num_actions), dtype=np.float32)
        for j, i in enumerate(idx):
            options = features.symmetries(self.planes[i].astype(np.float32), self.policies[i])
            planes[j], policies[j] = options[int(rng.integers(len(options)))]
        return planes, policies, self.values[idx].copy()

    def tensors(self) -> dict[str, torch.Tensor]:
        """The filled part, for window.safetensors."""
        return self._filled(self._ARRAYS)

    @property
    def saved_pos(self) -> int:
        """The write position as window.safetensors' owner records it ("window_pos"): where
        the next position goes once the window is full, 0 until then."""
        return self.pos if self.size == self.capacity else 0

    def restore(self, tensors: Mapping[str, torch.Tensor], pos: int,
                path: Path = Path("window.safetensors")) -> None:
        """Exactly the window `tensors()` saved, with its `saved_pos`; UserError naming
        `path` when the arrays do not fit this window."""
        n = int(tensors["values"].shape[0]) if "values" in tensors else 0
        check_arrays(path, tensors, {"values": (n,), "planes": (n, *self.shape),
                                     "policies": (n, self.num_actions)}, needs="the run needs")
        if n > self.capacity or not 0 <= pos < self.capacity:
            raise UserError(f"'{path}': {n} positions at {pos} do not fit a window of "
                            f"{self.capacity}")
        self.planes = tensors["planes"].numpy().astype(np.uint8)
        self.policies = tensors["policies"].numpy().astype(np.float32)
        self.values = tensors["values"].numpy().astype(np.float32)
        self.size = self.added = n
        self.pos = int(pos) if n == self.capacity else n % self.capacity
