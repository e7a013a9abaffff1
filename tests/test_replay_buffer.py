"""Replay buffers: ring wrap-around, frame dedup, episode boundaries, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from agents.replay import (
    FrameReplayBuffer,
    ReplayBuffer,
    load_replay_buffer,
    make_replay_buffer,
)
from games.errors import UserError

FRAME = (3, 3)


def test_vector_ring_wraps_and_keeps_the_newest():
    buf = ReplayBuffer(capacity=5, obs_shape=(2,), num_envs=1, seed=0)
    for i in range(8):
        buf.add(np.array([[i, -i]]), np.array([i]), np.array([10.0 * i]),
                np.array([[i + 1, -i - 1]]), np.array([i == 7]), np.array([i == 7]))
    assert len(buf) == 5 and buf.pos == 3
    batch = buf.sample(400)
    seen = set(batch.obs[:, 0].astype(int).tolist())
    assert seen == {3, 4, 5, 6, 7}  # 0, 1, 2 were overwritten; uniform draws reach all the rest
    # Every field of a sampled row comes from the same transition.
    i = batch.obs[:, 0]
    assert np.array_equal(batch.obs[:, 1], -i)
    assert np.array_equal(batch.actions, i.astype(np.int64))
    assert np.array_equal(batch.rewards, (10.0 * i).astype(np.float32))
    assert np.array_equal(batch.next_obs[:, 0], i + 1)
    assert np.array_equal(batch.terminated, (i == 7).astype(np.float32))
    assert batch.obs.dtype == np.float32 and batch.actions.dtype == np.int64


def test_vector_buffer_takes_one_row_per_env():
    buf = ReplayBuffer(capacity=10, obs_shape=(1,), num_envs=3, seed=0)
    buf.add(np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 2]), np.zeros(3),
            np.array([[5.0], [6.0], [7.0]]), np.zeros(3, bool), np.zeros(3, bool))
    assert len(buf) == 3
    batch = buf.sample(100)
    assert np.array_equal(batch.next_obs[:, 0] - batch.obs[:, 0], np.full(100, 5.0))


def _frame(env: int, episode: int, t: int) -> np.ndarray:
    """A frame that says where it came from: (env, episode, time step) in its first row."""
    f = np.zeros(FRAME, dtype=np.uint8)
    f[0] = (env, episode % 256, t % 256)
    return f


def _simulate(buf: FrameReplayBuffer, steps: int, padding: str, seed: int = 0) -> list[tuple]:
    """Feed `buf` stacked observations as FrameStackObservation would make them.

    num_envs envs step together with random episode lengths (1 to 8, so many
    boundaries); returns every (obs, action, next_obs) added, in order.
    """
    rng = np.random.default_rng(seed)
    n, stack = buf.num_envs, buf.stack
    episode = [0] * n
    t = [0] * n
    length = [int(rng.integers(1, 9)) for _ in range(n)]

    def first_stack(env: int) -> np.ndarray:
        f0 = _frame(env, episode[env], 0)
        pad = f0 if padding == "reset" else np.zeros(FRAME, np.uint8)
        return np.stack([pad] * (stack - 1) + [f0])

    obs = np.stack([first_stack(e) for e in range(n)])
    added = []
    for _ in range(steps):
        nxt = np.empty_like(obs)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        for e in range(n):
            t[e] += 1
            nxt[e] = np.concatenate([obs[e][1:], _frame(e, episode[e], t[e])[None]])
            if t[e] >= length[e]:
                term[e] = rng.random() < 0.5
                trunc[e] = not term[e]
        actions = rng.integers(0, 4, n)
        buf.add(obs, actions, np.ones(n), nxt, term, term | trunc)
        added += [(obs[e].copy(), int(actions[e]), nxt[e].copy()) for e in range(n)]
        obs = nxt
        for e in range(n):
            if term[e] or trunc[e]:
                episode[e] += 1
                t[e] = 0
                length[e] = int(rng.integers(1, 9))
                obs[e] = first_stack(e)
    return added


def _check_stack(stack: np.ndarray) -> tuple[int, int, int]:
    """Asserts a stack is one episode's consecutive frames; (env, episode, newest t)."""
    ids = stack[:, 0, :].astype(int)  # (stack, 3): env, episode, t of each frame
    env, episode, newest = ids[-1]
    assert (ids[:, 0] == env).all() and (ids[:, 1] == episode).all(), f"mixed stack {ids}"
    ts = ids[:, 2]
    expected = np.maximum(np.arange(newest - len(ts) + 1, newest + 1), 0)
    assert np.array_equal(ts, expected), f"not consecutive: {ids}"
    return int(env), int(episode), int(newest)


@pytest.mark.parametrize("padding", ["reset", "zero"])
@pytest.mark.parametrize("num_envs", [1, 3])
def test_frame_stacks_are_exact_and_never_cross_episodes(padding, num_envs):
    # A small ring that wraps many times: 60 transitions, 1,200 added.
    buf = FrameReplayBuffer(capacity=60, obs_shape=(4, *FRAME), num_envs=num_envs, seed=1)
    added = _simulate(buf, 1200 // num_envs, padding)
    newest = {(o.tobytes(), a, n.tobytes()) for o, a, n in added[-60:]}
    batch = buf.sample(2000)
    for o, a, n in zip(batch.obs, batch.actions, batch.next_obs, strict=True):
        # Bit-for-bit one of the transitions still in the ring (nothing overwritten, nothing mixed).
        assert (o.tobytes(), int(a), n.tobytes()) in newest
        if padding == "reset":
            env, episode, t = _check_stack(o)
            env2, episode2, t2 = _check_stack(n)
            assert (env2, episode2, t2) == (env, episode, t + 1)
    # Sampling reaches the whole ring, not a corner of it.
    assert len({o.tobytes() + n.tobytes() for o, n in zip(batch.obs, batch.next_obs)}) > 45


def test_frames_are_stored_once_per_transition():
    obs_shape = (4, 84, 84)
    frame_bytes = 84 * 84
    buf = FrameReplayBuffer(capacity=2_000, obs_shape=obs_shape, num_envs=1, seed=0)
    per_transition = buf.nbytes / buf.capacity
    assert frame_bytes < per_transition < 1.1 * frame_bytes  # not 4 (or 8) frames
    # A long episode adds one frame per step (the reset-padded first stack: one frame).
    rng = np.random.default_rng(0)
    obs = np.repeat(rng.integers(0, 255, (1, 1, 84, 84), dtype=np.uint8), 4, axis=1)
    for step in range(500):
        nxt = np.concatenate([obs[:, 1:], rng.integers(0, 255, (1, 1, 84, 84), dtype=np.uint8)], 1)
        buf.add(obs, np.zeros(1), np.zeros(1), nxt, np.zeros(1, bool), np.array([step == 499]))
        obs = nxt
    assert buf.frames_written == 501
    # The vector layout would hold 8 float32 frames per transition: 56x more.
    assert make_replay_buffer(10, obs_shape, "uint8").__class__ is FrameReplayBuffer
    assert make_replay_buffer(10, (4,), "float32").__class__ is ReplayBuffer


@pytest.mark.parametrize("kind", ["vector", "frames"])
def test_save_load_round_trip(tmp_path, kind):
    if kind == "frames":
        buf = FrameReplayBuffer(capacity=40, obs_shape=(4, *FRAME), num_envs=2, seed=3)
        _simulate(buf, 70, "reset")  # wrapped
    else:
        buf = ReplayBuffer(capacity=40, obs_shape=(3,), num_envs=1, seed=3)
        rng = np.random.default_rng(0)
        for _ in range(55):
            buf.add(rng.random((1, 3)), rng.integers(0, 2, 1), rng.random(1), rng.random((1, 3)),
                    rng.random(1) < 0.1, rng.random(1) < 0.2)
    path = tmp_path / "replay.safetensors"
    buf.save(path)
    loaded = load_replay_buffer(path)
    assert type(loaded) is type(buf)
    assert (loaded.pos, loaded.size, loaded.added) == (buf.pos, buf.size, buf.added)
    # Same contents and same sampling RNG: the next draws agree bit for bit.
    for _ in range(3):
        a, b = buf.sample(64), loaded.sample(64)
        for field in ("obs", "actions", "rewards", "next_obs", "terminated"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
    if kind == "frames":
        # Chains in progress survive too: adding more continues the same episodes.
        _simulate(buf, 5, "reset", seed=9)
        _simulate(loaded, 5, "reset", seed=9)
        assert np.array_equal(buf.sample(32).obs, loaded.sample(32).obs)


def test_a_pickle_is_not_a_replay_buffer(tmp_path):
    path = tmp_path / "replay.safetensors"
    path.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    with pytest.raises(UserError, match="pickle"):
        load_replay_buffer(path)


@pytest.mark.parametrize("kind", ["vector", "frames"])
def test_n_step_returns_stop_at_episode_ends_and_missing_successors(kind):
    """Checked against a brute-force n-step return over everything that was added."""
    n_envs, capacity, n, gamma = 2, 30, 3, 0.5
    rng = np.random.default_rng(5)
    if kind == "vector":
        buf = ReplayBuffer(capacity, (3,), n_envs, seed=2)
    else:
        buf = FrameReplayBuffer(capacity, (4, *FRAME), n_envs, seed=2)
    episode, t = [0, 0], [0, 0]
    history = []  # per add, per env: (key, reward, terminated, done)

    def observe(e: int) -> np.ndarray:
        if kind == "vector":
            return np.array([e, episode[e], t[e]], np.float32)
        return np.stack([_frame(e, episode[e], max(0, t[e] - k)) for k in (3, 2, 1, 0)])

    obs = np.stack([observe(e) for e in range(n_envs)])
    for _ in range(40):  # 80 transitions through a 30-slot ring
        keys = [(e, episode[e], t[e]) for e in range(n_envs)]
        rewards = rng.integers(1, 9, n_envs).astype(np.float32)
        term = rng.random(n_envs) < 0.15
        trunc = ~term & (rng.random(n_envs) < 0.1)
        for e in range(n_envs):
            t[e] += 1
        nxt = np.stack([observe(e) for e in range(n_envs)])
        buf.add(obs, np.zeros(n_envs), rewards, nxt, term, term | trunc)
        history.append([(keys[e], rewards[e], term[e], term[e] | trunc[e]) for e in range(n_envs)])
        for e in range(n_envs):
            if term[e] or trunc[e]:
                episode[e] += 1
                t[e] = 0
        obs = np.stack([observe(e) for e in range(n_envs)])
    stored = len(history) * n_envs - capacity  # adds before this index were overwritten
    where = {row[e][0]: (i, e) for i, row in enumerate(history) for e in range(n_envs)}

    def key_of(o: np.ndarray) -> tuple[int, int, int]:
        ids = o.astype(int).tolist() if kind == "vector" else o[-1, 0].astype(int).tolist()
        return tuple(ids)

    batch = buf.sample(500, n_step=n, gamma=gamma)
    for o, r, nx, term, disc in zip(batch.obs, batch.rewards, batch.next_obs, batch.terminated,
                                    batch.discounts, strict=True):
        i, e = where[key_of(o)]
        assert i * n_envs + e >= stored  # only stored transitions are drawn
        total, discount, j = 0.0, 1.0, i
        while True:
            _, reward, _, done = history[j][e]
            total += discount * reward
            discount *= gamma
            if done or j - i + 1 == n or j + 1 == len(history):
                break
            j += 1
        (env, ep, step) = history[j][e][0]
        assert r == pytest.approx(total) and disc == pytest.approx(discount)
        assert term == float(history[j][e][2])
        assert key_of(nx) == (env, ep, step + 1)  # bootstraps from the state after step j
    assert (batch.discounts < gamma).any() and (batch.discounts == gamma).any()


def test_masked_replay_keeps_next_masks_and_its_file_layout(tmp_path):
    from agents.replay import MaskedReplay

    buf = make_replay_buffer(6, (2, 3, 3), "float32", num_envs=2, seed=[5, 3], num_actions=9)
    assert type(buf) is MaskedReplay and buf.obs.dtype == np.uint8
    rng = np.random.default_rng(1)
    for _ in range(5):
        planes = (rng.random((2, 2, 3, 3)) < 0.5).astype(np.float32)
        masks = rng.random((2, 9)) < 0.5
        done = rng.random(2) < 0.3
        buf.add(planes, rng.integers(0, 9, 2), rng.random(2), planes, done, done, masks)
    batch = buf.sample(32, 1, 0.9)
    assert batch.obs.dtype == np.float32 and batch.next_masks.shape == (32, 9)
    path = tmp_path / "replay.safetensors"
    buf.save(path)
    from agents.checkpoint import load_tensors

    saved = load_tensors(path)
    assert sorted(saved) == ["actions", "next_masks", "next_obs", "obs", "rewards", "terminated"]
    assert str(saved["terminated"].dtype) == "torch.float32"
    loaded = load_replay_buffer(path, 6, (2, 3, 3), 2, num_actions=9, state=buf.state())
    a, b = buf.sample(16, 1, 0.9), loaded.sample(16, 1, 0.9)
    for field in ("obs", "actions", "rewards", "next_obs", "next_masks", "terminated"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    with pytest.raises(UserError, match="next_masks"):
        load_replay_buffer(path, 6, (2, 3, 3), 2, num_actions=7, state=buf.state())
