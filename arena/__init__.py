"""Arena: game-playing agents that play, learn and compete."""

from games import __version__  # noqa: F401 - the product version, kept in the lowest layer
