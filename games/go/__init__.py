"""Go: a fast rules engine for 5x5 to 19x19, its PettingZoo env, GTP and SGF.

As with PettingZoo's ``go_v5``, ``games.go.env(board_size=9, komi=7.5, ...)``
makes the AEC env. ``games.go.env`` is also the module of that name
(``from games.go.env import GoEnv`` works as before): calling the module calls
its ``env()`` factory.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded on first use, so importing games.go.state (the search) does not build the env.
    if name == "env":
        return importlib.import_module("games.go.env")  # sets games.go.env as it loads
    raise AttributeError(f"module 'games.go' has no attribute {name!r}")
