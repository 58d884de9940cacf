"""Where the tool finds its data and keeps its state, resolved from options and environment.

Only the CLI calls these with ``os.environ``; library code receives resolved paths.

- ``DWA_RATER_DATA_DIR``: root of the reference data (``onet/``, ``telework/``, ``exposure/``,
  ``crosswalks/``, ``occupations_cn/``, ``report_2024/``); ``dwa-rater data fetch`` fills it
  (see docs/data.md). Tests and CI use ``../shared/data``.
- ``DWA_RATER_ONET_DIR``: the O*NET text release (a folder or the official zip); defaults to
  ``$DWA_RATER_DATA_DIR/onet``.
- ``DWA_RATER_HOME``: the tool's state (response cache, embedding cache, Label Studio
  checkpoints); defaults to ``~/.cache/dwa_rater``.
- ``DWA_RATER_PROMPTS_DIR``: a folder of your own rubrics (``<name>/<version>/``), on top of
  the ones shipped with the package.
- ``DWA_RATER_ANNOTATIONS_DIR``: pulled Label Studio exports; defaults to ``./annotations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dwa_rater.errors import ConfigError

DATA_DIR_ENV = "DWA_RATER_DATA_DIR"
ONET_DIR_ENV = "DWA_RATER_ONET_DIR"
HOME_ENV = "DWA_RATER_HOME"
PROMPTS_DIR_ENV = "DWA_RATER_PROMPTS_DIR"
ANNOTATIONS_DIR_ENV = "DWA_RATER_ANNOTATIONS_DIR"


def resolve_data_dir(option: Path | None, environ: Mapping[str, str]) -> Path:
    """The reference-data root: the option, else ``$DWA_RATER_DATA_DIR``; it must exist."""
    value = option if option is not None else environ.get(DATA_DIR_ENV)
    if not value:
        raise ConfigError(
            f"no data directory: pass --data-dir or set {DATA_DIR_ENV} "
            "(the folder holding onet/, telework/, exposure/, crosswalks/; "
            "`dwa-rater data fetch --all --dest DIR` fills one)"
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"data directory {path} does not exist (`dwa-rater data fetch --all --dest {path}` "
            "fills it)"
        )
    return path


def resolve_onet_source(option: Path | None, environ: Mapping[str, str]) -> Path:
    """The O*NET release: the option, else ``$DWA_RATER_ONET_DIR``, else ``<data dir>/onet``."""
    value: str | Path | None = option if option is not None else environ.get(ONET_DIR_ENV)
    if not value and environ.get(DATA_DIR_ENV):
        value = Path(environ[DATA_DIR_ENV]) / "onet"
    if not value:
        raise ConfigError(
            f"no O*NET release: pass --onet-dir or set {ONET_DIR_ENV} (a folder or the official "
            f"text-release zip), or set {DATA_DIR_ENV}"
        )
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigError(f"O*NET release {path} does not exist")
    return path


def optional_onet_source(option: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The O*NET release if one is configured (option or environment), else None.

    For commands where O*NET only adds context (e.g. grouping by GWA); a release named by the
    option that does not exist is still an error.
    """
    try:
        return resolve_onet_source(option, environ)
    except ConfigError:
        if option is not None:
            raise
        return None


def resolve_home(environ: Mapping[str, str]) -> Path:
    """The state directory (caches, checkpoints); created on demand."""
    value = environ.get(HOME_ENV)
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "dwa_rater"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_data_dest(option: Path | None, environ: Mapping[str, str]) -> Path:
    """Where ``data fetch`` writes: the option, else ``$DWA_RATER_DATA_DIR``; may not exist yet."""
    value = option if option is not None else environ.get(DATA_DIR_ENV)
    if not value:
        raise ConfigError(
            f"no destination: pass --dest or set {DATA_DIR_ENV} (the folder the tool reads "
            "its reference data from)"
        )
    return Path(value).expanduser()


def resolve_prompts_dir(option: Path | None, environ: Mapping[str, str]) -> Path:
    """A user's rubrics folder: the option, else ``$DWA_RATER_PROMPTS_DIR``, else the shipped one.

    A user's folder adds rubrics to the shipped ones and overrides a shipped ``<name>/<version>``
    of the same name (see :mod:`dwa_rater.prompts`).
    """
    from dwa_rater.prompts import DEFAULT_PROMPTS_DIR

    value = option if option is not None else environ.get(PROMPTS_DIR_ENV)
    if not value:
        return DEFAULT_PROMPTS_DIR
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(f"prompts folder {path} does not exist")
    return path


def resolve_annotations_dir(option: Path | None, environ: Mapping[str, str]) -> Path:
    """Where pulled Label Studio exports live: the option, else ``$DWA_RATER_ANNOTATIONS_DIR``,
    else ``annotations/`` in the current folder (a checkout's own folder when run from its root).

    The folder is the user's (dated exports are added to it), so it is never inside the package.
    """
    value = option if option is not None else environ.get(ANNOTATIONS_DIR_ENV)
    return Path(value).expanduser() if value else Path("annotations")
