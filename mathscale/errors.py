"""The one exception type that reaches the user as a single clear line."""


class MathscaleError(Exception):
    """A problem the user can fix: bad input, a missing file, an unreachable endpoint.

    The message names the thing (file:line, option, URL) and says what to do. The CLI
    prints it on one line and exits with status 2; nothing else catches it.
    """


class DataError(MathscaleError):
    """A record that does not match its schema: the message starts with ``file:line``."""
