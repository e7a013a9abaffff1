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


#: The longest error line Arena prints (under 300 characters): a longer message is cut,
#: with "..." at the cut.
MAX_LINE = 299


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """`text` as one line (whitespace runs made one space) of at most `limit` characters."""
    if len(text) > 4 * limit:  # a huge message: look at its start only
        text = text[: 4 * limit]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def shown(value: object, limit: int = 80) -> str:
    """repr(value) for a message, cut to about `limit` characters without building it whole.

    A value from a user's file may be huge (a long list, a long string); the
    parts beyond a few items are left out as reprlib leaves them.
    """
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 3, 6, 6, 4, 6
    r.maxstring, r.maxother, r.maxlong = limit, limit, 40
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = len(format(value, "x")) * 1.204  # 16**k is about 10**(1.204 k)
        return f"an integer of about {digits:.0f} digits"
    try:
        text = r.repr(value)
    except ValueError:  # an int too long for str() deep inside a container
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
