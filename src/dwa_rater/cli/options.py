"""Option helpers shared by command groups: one vocabulary across commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.errors import ConfigError

#: ``--prompts-dir`` of every command that loads rubrics (resolve with
#: :func:`dwa_rater.paths.resolve_prompts_dir`).
PromptsDirOption = Annotated[
    Path | None,
    typer.Option(
        help="your folder of versioned rubrics, on top of the shipped ones; "
        "env DWA_RATER_PROMPTS_DIR"
    ),
]


def measure_option(measure: str | None, old_name: str | None) -> str | None:
    """The value of ``--measure``, accepting its old spelling (``--coding``/``--column``) for
    one release; giving both with different values is an error."""
    if measure is not None and old_name is not None and measure != old_name:
        raise ConfigError(f"--measure {measure} contradicts its old spelling ({old_name})")
    return measure if measure is not None else old_name
