"""The project's exceptions: one base class, one subclass per kind of failure.

The CLI turns every ``DwaRaterError`` into a one-line message and a non-zero exit.
"""

from __future__ import annotations


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
