"""The pygame front end (`--ui window`): watch agents play, or play against them.

    watch(game_id, agent_refs, speed=1.0, games=1) -> exit code
    play(game_id, opponent_ref, human_first=True) -> exit code

Both run the match loop in the calling thread with the window's events pumped
between moves, record every game in the configured store (a game closed
mid-way as "abandoned"), and raise UserError for bad input before a window
opens. Importing this package does not import pygame.
"""

from arena.window.session import WindowObserver, describe, play, step_rate, watch

__all__ = ["WindowObserver", "describe", "play", "step_rate", "watch"]
