"""Arena: game-playing agents that play, learn and compete."""

__version__ = "0.1.0"
