"""The terminal front end (Textual): what `arena` opens when run in a terminal.

`run_app()` runs it; `ArenaApp` is the app, `StartRequest` opens it on the
Watch or Play screen (what `arena watch` and `arena play` do).
"""

from arena.tui.app import ArenaApp, StartRequest, run_app

__all__ = ["ArenaApp", "StartRequest", "run_app"]
