"""The project's exceptions: one base class, one subclass per kind of failure.

The CLI turns every ``DwaRaterError`` into a one-line message and a non-zero exit.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class DwaRaterError(Exception):
    """Base class of every error the tool reports to its user."""


class ConfigError(DwaRaterError):
    """A settings file, rater spec or option is invalid."""


class DataError(DwaRaterError):
    """An input file (O*NET table, items, ratings, postings) is missing or malformed."""


class PromptError(DwaRaterError):
    """A prompt is unknown, malformed, or rendered with missing variables."""


class EndpointError(DwaRaterError):
    """A model endpoint cannot be reached, refuses the key, or keeps failing."""


class LocalModelError(EndpointError):
    """The embedded local model server cannot be installed, started or reached."""


class ReviewError(DwaRaterError):
    """Label Studio is unreachable, refuses the token, or holds an unexpected project."""


def present(value: T | None, name: str) -> T:
    """``value``, or a :class:`DataError` saying there is no ``name`` (e.g. a study step's
    result that the step did not make)."""
    if value is None:
        raise DataError(f"no {name}: the step that makes it did not run or failed")
    return value
