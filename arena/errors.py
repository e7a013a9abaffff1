"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input from a person: a file, field or argument, and the bad value.

    The message is a single line that names what was wrong, e.g.
    ``unknown game 'chess' (known: cartpole, ...)``.
    """
