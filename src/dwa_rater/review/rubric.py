"""The rubric as annotators see it, in English and Chinese, read from one file.

``annotations/rubric/<name>-<version>.toml`` holds the labels (code, hotkey, name and definition
in ``en`` and ``zh``), the score definition and its anchors, the confidence choices, the screen's
headings and the notes on Chinese term choices. Nothing else in the package spells a label
definition. When the prompt's ``manifest.toml`` lists labels (``labels = [...]`` of codes, or of
tables with a ``code``), their codes must equal the file's: the screen never offers a label the
rubric does not have.

Languages: ``en``, ``zh`` and ``zh+en`` (Chinese first, English after it). :func:`text` picks
one rendering of a ``{"en": ..., "zh": ...}`` pair.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dwa_rater.errors import ConfigError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR

ReviewLanguage = Literal["en", "zh", "zh+en"]
REVIEW_LANGUAGES: tuple[str, ...] = ("en", "zh", "zh+en")

#: The repository's rubric texts for reviewers (an installed checkout).
DEFAULT_RUBRIC_DIR = Path(__file__).resolve().parents[3] / "annotations" / "rubric"


@dataclass(frozen=True)
class Bilingual:
    """One text in English and Chinese."""

    en: str
    zh: str

    def __call__(self, lang: ReviewLanguage, separator: str = " / ") -> str:
        return text(self, lang, separator)


@dataclass(frozen=True)
class RubricLabel:
    """One label: its code (E0), hotkey, short name and definition."""

    code: str
    hotkey: str
    name: Bilingual
    definition: Bilingual


@dataclass(frozen=True)
class Choice:
    """A choice other than a label (a confidence level): code, hotkey, wording."""

    code: str
    hotkey: str
    wording: Bilingual


@dataclass(frozen=True)
class ScoreAnchor:
    value: float
    wording: Bilingual


@dataclass(frozen=True)
class TermNote:
    """Where a Chinese term is a choice among several, and why this one."""

    en: str
    zh: str
    note: str


@dataclass(frozen=True)
class ReviewRubric:
    """Everything the review screen says about the rubric (see the module docstring)."""

    name: str
    version: str
    source: str
    question: Bilingual
    labels: tuple[RubricLabel, ...]
    score: Bilingual
    score_anchors: tuple[ScoreAnchor, ...]
    confidence: tuple[Choice, ...]
    ui: Mapping[str, Bilingual]
    terms: tuple[TermNote, ...]
    path: Path

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(label.code for label in self.labels)

    def phrase(self, key: str, lang: ReviewLanguage, separator: str = " / ", **values: Any) -> str:
        """A heading or phrase of the screen, with ``{name}`` fields filled in."""
        if key not in self.ui:
            raise ConfigError(f"{self.path}: no [ui] phrase {key!r}")
        wording = self.ui[key]
        filled = Bilingual(wording.en.format(**values), wording.zh.format(**values))
        return text(filled, lang, separator)


def check_language(lang: str) -> ReviewLanguage:
    """``lang`` if it is one of ``REVIEW_LANGUAGES``, else a ``ConfigError``."""
    if lang not in REVIEW_LANGUAGES:
        raise ConfigError(f"unknown language {lang!r} (use {', '.join(REVIEW_LANGUAGES)})")
    return lang  # type: ignore[return-value]


def text(pair: Bilingual, lang: ReviewLanguage, separator: str = " / ") -> str:
    """The ``lang`` rendering of ``pair``: English, Chinese, or Chinese + separator + English."""
    check_language(lang)
    if lang == "en":
        return pair.en
    if lang == "zh":
        return pair.zh
    return pair.zh + separator + pair.en


def _bilingual(raw: Any, where: str) -> Bilingual:
    if not isinstance(raw, Mapping) or not raw.get("en") or not raw.get("zh"):
        raise ConfigError(f"{where}: needs both 'en' and 'zh' texts")
    return Bilingual(str(raw["en"]), str(raw["zh"]))


def _manifest_codes(name: str, version: str, prompts_dir: Path) -> tuple[str, ...] | None:
    """Label codes listed by the prompt's manifest, or None when it lists none."""
    path = prompts_dir / name / version / "manifest.toml"
    if not path.is_file():
        return None
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    labels = manifest.get("labels")
    if not labels:
        return None
    if isinstance(labels, Mapping):  # [labels.E0] tables
        return tuple(str(code) for code in labels)
    codes = []
    for entry in labels:
        codes.append(str(entry.get("code") if isinstance(entry, Mapping) else entry))
    return tuple(codes)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def load_review_rubric(
    name: str = "exposure",
    version: str = "v1",
    rubric_dir: Path = DEFAULT_RUBRIC_DIR,
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
) -> ReviewRubric:
    """Read ``<rubric_dir>/<name>-<version>.toml`` and check it against the prompt's manifest.

    Loaded once per content of the two files (their modification time and size).
    """
    stamps = (
        _stamp(rubric_dir / f"{name}-{version}.toml"),
        _stamp(prompts_dir / name / version / "manifest.toml"),
    )
    return _load_review_rubric(name, version, rubric_dir, prompts_dir, stamps)


@cache
def _load_review_rubric(
    name: str, version: str, rubric_dir: Path, prompts_dir: Path, stamps: object
) -> ReviewRubric:
    path = rubric_dir / f"{name}-{version}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no reviewer rubric for {name}@{version} ({path} missing); write one like "
            "annotations/rubric/exposure-v1.toml"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    where = str(path)
    try:
        labels = tuple(
            RubricLabel(
                code=str(entry["code"]),
                hotkey=str(entry["hotkey"]),
                name=_bilingual(entry["name"], f"{where} label {entry['code']} name"),
                definition=_bilingual(entry["definition"], f"{where} label {entry['code']}"),
            )
            for entry in raw["labels"]
        )
        confidence = tuple(
            Choice(str(c["code"]), str(c["hotkey"]), _bilingual(c, f"{where} confidence"))
            for c in raw["confidence"]
        )
        anchors = tuple(
            ScoreAnchor(float(a["value"]), _bilingual(a, f"{where} score anchor"))
            for a in raw.get("score_anchors", [])
        )
        ui_en, ui_zh = raw["ui"]["en"], raw["ui"]["zh"]
        missing = sorted(set(ui_en) ^ set(ui_zh))
        if missing:
            raise ConfigError(f"{where}: [ui.en] and [ui.zh] differ in {', '.join(missing)}")
        ui = {key: Bilingual(str(ui_en[key]), str(ui_zh[key])) for key in ui_en}
        terms = tuple(
            TermNote(str(t["en"]), str(t["zh"]), str(t.get("note", "")))
            for t in raw.get("terms", [])
        )
        rubric = ReviewRubric(
            name=str(raw.get("name", name)),
            version=str(raw.get("version", version)),
            source=str(raw.get("source", "")),
            question=_bilingual(raw["question"], f"{where} [question]"),
            labels=labels,
            score=_bilingual(raw["score"], f"{where} [score]"),
            score_anchors=anchors,
            confidence=confidence,
            ui=ui,
            terms=terms,
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed reviewer rubric ({exc!r})") from exc
    if (rubric.name, rubric.version) != (name, version):
        raise ConfigError(f"{where}: name/version say {rubric.name}@{rubric.version}")
    hotkeys = [label.hotkey for label in labels] + [c.hotkey for c in confidence]
    if len(set(hotkeys)) != len(hotkeys):
        raise ConfigError(f"{where}: hotkeys repeat ({', '.join(hotkeys)})")
    codes = _manifest_codes(name, version, prompts_dir)
    if codes is not None and codes != rubric.codes:
        raise ConfigError(
            f"{where}: labels {list(rubric.codes)} differ from the prompt manifest's {list(codes)}"
        )
    return rubric
