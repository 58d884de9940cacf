"""Rubric prompts: load ``prompts/<name>/<version>/``, render strictly, fingerprint with SHA-256.

The rubrics shipped with the package (:func:`dwa_rater.resources.packaged_prompts_dir`, built
from the repository's ``prompts/``) are always available; a user's prompts folder adds rubrics
and overrides shipped ones: a ``<name>/<version>`` present in the user's folder wins.

A prompt is a system message (the rubric, identical in every request so that providers' prefix
caching applies) and a user template into which the items are rendered last. ``sha256`` covers
the rendered system message and the user template, and is recorded on every rating.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2

from dwa_rater.errors import PromptError
from dwa_rater.resources import packaged_prompts_dir
from dwa_rater.rubric import RubricScale, parse_scale
from dwa_rater.schemas import Item

OutputKind = Literal["exposure", "score"]


@dataclass(frozen=True)
class PromptOutput:
    """What a rubric asks the model to return: ``exposure`` (a label of ``labels`` plus a 0-1
    score and a rationale) or ``score`` (a 0-1 score and a rationale). Hashable: response
    models are compiled once per output and batch size."""

    kind: OutputKind
    labels: tuple[str, ...] = ()


#: The rubrics shipped with the package (package data); a user's folder can be passed in.
DEFAULT_PROMPTS_DIR = packaged_prompts_dir()

_VERSION = re.compile(r"^v(\d+)$")
_ENVIRONMENT = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


@dataclass(frozen=True)
class Prompt:
    """A loaded rubric version."""

    name: str
    version: str
    output: PromptOutput
    description: str
    system: str
    user_template: str
    sha256: str
    scale: RubricScale | None = None

    @property
    def spec(self) -> str:
        """``name@version``, as rater specs and ratings name it."""
        return f"{self.name}@{self.version}"


@cache
def _compile(source: str) -> jinja2.Template:
    return _ENVIRONMENT.from_string(source)


def _render(source: str, variables: dict[str, object], where: str) -> str:
    try:
        return _compile(source).render(**variables)
    except jinja2.UndefinedError as exc:
        raise PromptError(f"{where}: {exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"{where}: template syntax error on line {exc.lineno}: {exc}") from exc


def parse_rubric_spec(spec: str) -> tuple[str, str | None]:
    """Split a rubric spec: ``exposure`` -> (exposure, None); ``exposure@v1`` -> (exposure, v1).

    ``exposure/v1`` and ``exposure:v1`` are accepted too.
    """
    for separator in ("@", "/", ":"):
        if separator in spec:
            name, version = spec.split(separator, 1)
            return name.strip(), version.strip()
    return spec.strip(), None


def _versions_in(prompts_dir: Path) -> dict[tuple[str, str], Path]:
    if not prompts_dir.is_dir():
        raise PromptError(f"prompts folder {prompts_dir} does not exist")
    found = {}
    for manifest in prompts_dir.glob("*/*/manifest.toml"):
        if _VERSION.match(manifest.parent.name):
            found[(manifest.parent.parent.name, manifest.parent.name)] = manifest.parent
    return found


def prompt_folders(prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> dict[tuple[str, str], Path]:
    """(name, version) -> folder: shipped rubrics, extended and overridden by ``prompts_dir``."""
    folders = _versions_in(DEFAULT_PROMPTS_DIR) if DEFAULT_PROMPTS_DIR.is_dir() else {}
    if prompts_dir != DEFAULT_PROMPTS_DIR:
        folders.update(_versions_in(prompts_dir))
    return folders


def list_prompts(prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> list[tuple[str, str]]:
    """Every (name, version) pair available, sorted by name then version number.

    ``prompts_dir`` is a user's folder: its rubrics come on top of the shipped ones.
    """
    return sorted(prompt_folders(prompts_dir), key=lambda pair: (pair[0], int(pair[1][1:])))


def load_prompt(
    name: str, version: str | None = None, prompts_dir: Path = DEFAULT_PROMPTS_DIR
) -> Prompt:
    """Load a rubric; ``version=None`` takes the highest ``vN`` of that name.

    ``prompts_dir``: a user's folder of ``<name>/<version>/`` rubrics, searched before the
    shipped ones. Example::

        >>> load_prompt("exposure", "v1").output.kind
        'exposure'
    """
    folders = prompt_folders(prompts_dir)
    available = list_prompts(prompts_dir)
    versions = [v for n, v in available if n == name]
    if not versions:
        names = sorted({n for n, _ in available})
        raise PromptError(f"unknown rubric {name!r} (available: {', '.join(names) or 'none'})")
    if version is None:
        version = versions[-1]
    if version not in versions:
        raise PromptError(
            f"unknown version {version!r} of rubric {name!r} (available: {', '.join(versions)})"
        )
    folder = folders[(name, version)]
    try:
        manifest = tomllib.loads((folder / "manifest.toml").read_text(encoding="utf-8"))
        system_source = (folder / "system.md").read_text(encoding="utf-8")
        user_template = (folder / "user.md").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"{folder}: missing {Path(exc.filename or '').name}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PromptError(f"{folder}/manifest.toml: {exc}") from exc
    output = manifest.get("output")
    if output not in ("exposure", "score"):
        raise PromptError(f"{folder}/manifest.toml: output must be 'exposure' or 'score'")
    scale = None
    if output == "exposure":
        if not isinstance(manifest.get("scale"), dict):
            raise PromptError(f"{folder}/manifest.toml: a labelled rubric needs a [scale] table")
        scale = parse_scale(manifest["scale"], f"{folder}/manifest.toml")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise PromptError(f"{folder}/manifest.toml: name/version do not match the folder")
    system = _render(system_source, {}, f"{folder}/system.md")
    digest = hashlib.sha256()
    digest.update(system.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(user_template.encode("utf-8"))
    return Prompt(
        name=name,
        version=version,
        output=PromptOutput(output, scale.labels if scale else ()),
        description=str(manifest.get("description", "")),
        system=system,
        user_template=user_template,
        sha256=digest.hexdigest(),
        scale=scale,
    )


#: The rubric whose scale is the default where no rubric is named (E0/E1/E2, Eloundou et al.).
DEFAULT_RUBRIC = "exposure"


@cache
def exposure_scale(prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> RubricScale:
    """The default rubric's label scale, read from its manifest (the one source of truth)."""
    scale = load_prompt(DEFAULT_RUBRIC, None, prompts_dir).scale
    if scale is None:
        raise PromptError(f"rubric {DEFAULT_RUBRIC!r} has no [scale] table")
    return scale


def scale_of(spec: str, prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> RubricScale:
    """The label scale of rubric ``spec`` (``name`` or ``name@version``)."""
    name, version = parse_rubric_spec(spec)
    scale = load_prompt(name, version, prompts_dir).scale
    if scale is None:
        raise PromptError(f"rubric {spec!r} returns a score only: it has no label scale")
    return scale


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_item_line(local_id: str, item: Item) -> str:
    """``[id] statement (context: ...)`` on one line; ids are short local ids such as ``3``.

    An item with ``examples`` (anchored rubrics) gets them on the following lines.
    """
    line = f"[{local_id}] {_one_line(item.text)}"
    if item.context:
        line += f" (context: {_one_line(item.context)})"
    if item.examples:
        line += "\n" + item.examples.rstrip("\n")
    return line


def render_user_message(prompt: Prompt, items: Sequence[tuple[str, Item]]) -> str:
    """The user message for one request: the template with the items rendered last."""
    lines = "\n".join(format_item_line(local_id, item) for local_id, item in items)
    return _render(
        prompt.user_template,
        {"n_items": len(items), "items": lines},
        f"{prompt.name}/{prompt.version}/user.md",
    )
