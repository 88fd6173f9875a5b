"""The exceptions that reach the user as a single clear line."""


class MathscaleError(Exception):
    """A problem the user can fix: bad input, a missing file, an unreachable endpoint.

    The message names the thing (file:line, option, URL) and says what to do. The CLI
    prints it on one line and exits with ``exit_code`` (2); nothing else catches it.
    """

    exit_code = 2


class EndpointError(MathscaleError):
    """The endpoint can serve no request (its server process died, ...): the command stops
    at once instead of spending retries and attempts on it. What finished is kept, so a
    rerun resumes."""


class PendingError(MathscaleError):
    """Work left undone because its requests failed after the client's retries (5xx, 429,
    timeouts, dropped connections): those items are *pending* — not written, not graded,
    not cached, not counted as attempts — and a rerun of the same command asks only for
    them. Exit status 4, so scripts can tell "retry later" from bad input (2) and from a
    stage that ran short (3)."""

    exit_code = 4


class DataError(MathscaleError):
    """A record that does not match its schema: the message starts with ``file:line``."""


class ShortfallError(MathscaleError):
    """A stage finished but made fewer items than asked for; what it wrote is valid and kept.

    Exit status 3, so scripts can tell "ran short" from "failed". ``mathscale scale``
    catches it from ``generate`` and trains the sizes the samples reach.
    """

    exit_code = 3
