"""Exception types raised by adamcheck.

Every error a user can cause (bad parameters, unreadable files, malformed configs)
is an :class:`AdamCheckError`. The command line turns these into one line on stderr
and exit code 2; anything else that escapes is a bug in adamcheck.

Messages follow one rule: say what is wrong, then how to fix it, in one sentence
without a trailing newline, e.g. ``"beta2 = 1.0 is outside [0, 1): use a value
below 1, such as 0.999"``.
"""

from __future__ import annotations

__all__ = [
    "AdamCheckError",
    "InvalidParameterError",
    "DataError",
    "ConfigError",
    "ProblemError",
    "AdamCheckWarning",
]


class AdamCheckError(ValueError):
    """Base class of every error a user of adamcheck can cause.

    Subclasses ``ValueError`` so that generic ``except ValueError`` code keeps
    working; catch ``AdamCheckError`` to handle only ours. ``error_kind`` is the
    ``error_kind`` of the command line's JSON error object (docs/cli.md).
    """

    error_kind = "unusable_input"


class InvalidParameterError(AdamCheckError):
    """A parameter value is out of range or of the wrong kind (betas, sizes, seeds...)."""


class DataError(AdamCheckError):
    """An input array or file is unusable: wrong shape, NaN/inf, pickled, missing, empty."""


class ConfigError(AdamCheckError):
    """A training configuration file cannot be read or understood."""


class ProblemError(AdamCheckError):
    """A user-supplied optimisation problem breaks the problem protocol."""


class AdamCheckWarning(UserWarning):
    """A warning about the run being watched (e.g. beta2 below the critical beta2*, update spikes).

    Filter it with ``warnings.filterwarnings("ignore", category=AdamCheckWarning)``.
    """
