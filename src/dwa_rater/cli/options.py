"""Option helpers shared by command groups: one vocabulary across commands."""

from __future__ import annotations

from dwa_rater.errors import ConfigError


def measure_option(measure: str | None, old_name: str | None) -> str | None:
    """The value of ``--measure``, accepting its old spelling (``--coding``/``--column``) for
    one release; giving both with different values is an error."""
    if measure is not None and old_name is not None and measure != old_name:
        raise ConfigError(f"--measure {measure} contradicts its old spelling ({old_name})")
    return measure if measure is not None else old_name
