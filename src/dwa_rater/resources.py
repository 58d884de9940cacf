"""Files shipped inside the package: the rubrics and the annotators' files, read as package data.

The repository's top-level ``prompts/`` and ``annotations/`` folders are the source of truth;
``src/dwa_rater/_data/`` holds symbolic links to them, which setuptools follows when it builds
the wheel (so the wheel carries copies and an editable checkout reads the folders themselves).
Nothing here computes a path from the source tree: everything goes through
:mod:`importlib.resources`, so an installed wheel, an editable install and a plain
``PYTHONPATH=src`` checkout behave alike.

Shipped files:

- ``prompts/<name>/<version>/`` (:func:`packaged_prompts_dir`): the versioned rubrics;
- ``annotations/labeling_config.xml``, ``annotations/guidelines.md`` (and ``.zh.md``),
  ``annotations/README.md`` (:func:`annotation_text`): the Label Studio labelling config as
  the review step builds it, the annotators' guidelines and their workflow;
- ``annotations/wording/<rubric>-<version>.toml``: the review screen's text
  (:mod:`dwa_rater.review.wording`).

Example::

    >>> from dwa_rater import resources
    >>> (resources.packaged_prompts_dir() / "exposure" / "v1" / "manifest.toml").is_file()
    True
    >>> "E1" in resources.annotation_text("guidelines.md")
    True
"""

from __future__ import annotations

import atexit
import contextlib
from functools import cache
from importlib import resources
from pathlib import Path

from dwa_rater.errors import ConfigError

#: The annotation files the package ships (the folder's dated exports are not shipped).
ANNOTATION_FILES: tuple[str, ...] = (
    "labeling_config.xml",
    "guidelines.md",
    "guidelines.zh.md",
    "README.md",
)

_DATA = "_data"
# Directories extracted from a zipped install live until the interpreter exits.
_EXTRACTED = contextlib.ExitStack()
atexit.register(_EXTRACTED.close)


@cache
def packaged_path(*parts: str) -> Path:
    """A real filesystem path to a shipped file or folder (``parts`` below ``_data/``).

    For a normal install this is the file inside ``site-packages``; for a zipped install the
    resource is extracted once to a temporary folder that lives until the interpreter exits.
    """
    resource = resources.files("dwa_rater").joinpath(_DATA, *parts)
    if isinstance(resource, Path):
        return resource
    return _EXTRACTED.enter_context(resources.as_file(resource))


def packaged_prompts_dir() -> Path:
    """The folder of the rubrics shipped with the package (``prompts/<name>/<version>/``)."""
    return packaged_path("prompts")


def annotation_text(name: str) -> str:
    """The text of a shipped annotation file, e.g. ``guidelines.md`` (:data:`ANNOTATION_FILES`)."""
    if name not in ANNOTATION_FILES:
        raise ConfigError(
            f"unknown annotation file {name!r} (shipped: {', '.join(ANNOTATION_FILES)})"
        )
    resource = resources.files("dwa_rater").joinpath(_DATA, "annotations", name)
    try:
        return resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"the package's copy of annotations/{name} is missing (a broken install?)"
        ) from exc
