"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """Bad input from a person: a file, field or argument, and the bad value.

    The message is a single line that names what was wrong, e.g.
    ``unknown game 'chess' (known: cartpole, ...)``.
    """


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """The words "did you mean X?" for the one or two choices closest to a typo; "" if none is."""
    import difflib

    close = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=2, cutoff=0.6)
    if not close:
        return ""
    return f"did you mean {' or '.join(close)}?"
