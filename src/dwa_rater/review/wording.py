"""What the review screen says, in English and Chinese: the rubric's labels plus the screen's text.

Two sources, each the only one for what it holds:

- the rubric's label scale (:class:`dwa_rater.rubric.RubricScale`, the ``[scale]`` of
  ``prompts/<name>/<version>/manifest.toml``): the labels in answer order, their names and
  definitions, in English (``names``, ``definitions``) and Chinese (``names_zh``,
  ``definitions_zh``; the English stands in where a rubric has no Chinese);
- the wording file ``annotations/wording/<name>-<version>.toml``: the question, the score's
  definition and anchors, the confidence choices (code, hotkey, text), the headings, and the
  notes on where a Chinese term is a choice. A rubric without a wording file of its own uses the
  exposure rubric's.

Hotkeys: the labels take 1, 2, 3, ... in answer order (nine at most); the confidence choices
take the letters of the wording file. Languages: ``en``, ``zh`` and ``zh+en`` (Chinese first,
then English).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dwa_rater.errors import ConfigError
from dwa_rater.prompts import exposure_scale
from dwa_rater.resources import packaged_path
from dwa_rater.rubric import RubricScale

ReviewLanguage = Literal["en", "zh", "zh+en"]
REVIEW_LANGUAGES: tuple[str, ...] = ("en", "zh", "zh+en")

#: The wording files shipped with the package (the repository's annotations/wording/).
DEFAULT_WORDING_DIR = packaged_path("annotations", "wording")
#: The wording used for rubrics without a file of their own.
DEFAULT_WORDING = "exposure-v1"
#: At most this many labels (hotkeys 1-9).
MAX_LABELS = 9


@dataclass(frozen=True)
class Bilingual:
    """One text in English and Chinese (an empty Chinese text falls back to the English)."""

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
class ScreenWording:
    """The text of a wording file (see the module docstring)."""

    question: Bilingual
    score: Bilingual
    score_anchors: tuple[ScoreAnchor, ...]
    confidence: tuple[Choice, ...]
    ui: Mapping[str, Bilingual]
    terms: tuple[TermNote, ...]
    path: Path
    sha256: str


@dataclass(frozen=True)
class ReviewRubric:
    """Everything the review screen says: the rubric's labels and the screen's wording."""

    labels: tuple[RubricLabel, ...]
    wording: ScreenWording
    scale_sha256: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(label.code for label in self.labels)

    @property
    def question(self) -> Bilingual:
        return self.wording.question

    @property
    def score(self) -> Bilingual:
        return self.wording.score

    @property
    def score_anchors(self) -> tuple[ScoreAnchor, ...]:
        return self.wording.score_anchors

    @property
    def confidence(self) -> tuple[Choice, ...]:
        return self.wording.confidence

    @property
    def terms(self) -> tuple[TermNote, ...]:
        return self.wording.terms

    def phrase(self, key: str, lang: ReviewLanguage, separator: str = " / ", **values: Any) -> str:
        """A heading of the screen with ``{name}`` fields filled in (a ``Bilingual`` value is
        filled in per language)."""
        if key not in self.wording.ui:
            raise ConfigError(f"{self.wording.path}: no [ui] phrase {key!r}")
        wording = self.wording.ui[key]

        def fill(template: str, side: str) -> str:
            chosen = {
                k: getattr(v, side) if isinstance(v, Bilingual) else v for k, v in values.items()
            }
            return template.format(**chosen)

        return text(Bilingual(fill(wording.en, "en"), fill(wording.zh, "zh")), lang, separator)

    def keys_of(self, hotkeys: Sequence[str]) -> Bilingual:
        """A list of hotkeys as the headings write it: ``1, 2, 3`` / ``1、2、3``."""
        return Bilingual(", ".join(hotkeys), "、".join(hotkeys))

    def label_list(self) -> Bilingual:
        """The label codes as a sentence writes them: ``E0, E1 or E2`` / ``E0、E1 或 E2``."""
        codes = list(self.codes)
        if len(codes) == 1:
            return Bilingual(codes[0], codes[0])
        return Bilingual(
            ", ".join(codes[:-1]) + f" or {codes[-1]}", "、".join(codes[:-1]) + f" 或 {codes[-1]}"
        )

    @property
    def version(self) -> str:
        """The first 12 hex of SHA-256 over the labels' texts and the wording file."""
        return hashlib.sha256((self.scale_sha256 + self.wording.sha256).encode()).hexdigest()[:12]


def check_language(lang: str) -> ReviewLanguage:
    """``lang`` if it is one of ``REVIEW_LANGUAGES``, else a ``ConfigError``."""
    if lang not in REVIEW_LANGUAGES:
        raise ConfigError(f"unknown language {lang!r} (use {', '.join(REVIEW_LANGUAGES)})")
    return lang  # type: ignore[return-value]


def text(pair: Bilingual, lang: ReviewLanguage, separator: str = " / ") -> str:
    """The ``lang`` rendering of ``pair``: English, Chinese, or Chinese + separator + English."""
    check_language(lang)
    chinese = pair.zh or pair.en
    if lang == "en":
        return pair.en
    if lang == "zh" or chinese == pair.en:
        return chinese
    return chinese + separator + pair.en


def _bilingual(raw: Any, where: str) -> Bilingual:
    if not isinstance(raw, Mapping) or not raw.get("en") or not raw.get("zh"):
        raise ConfigError(f"{where}: needs both 'en' and 'zh' texts")
    return Bilingual(str(raw["en"]), str(raw["zh"]))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def load_wording(path: Path) -> ScreenWording:
    """Read a wording file (loaded once per content: modification time and size)."""
    return _load_wording(path, _stamp(path))


@cache
def _load_wording(path: Path, stamp: object) -> ScreenWording:
    try:
        raw_bytes = path.read_bytes()
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no review wording file {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    where = str(path)
    try:
        ui_en, ui_zh = raw["ui"]["en"], raw["ui"]["zh"]
        missing = sorted(set(ui_en) ^ set(ui_zh))
        if missing:
            raise ConfigError(f"{where}: [ui.en] and [ui.zh] differ in {', '.join(missing)}")
        confidence = tuple(
            Choice(str(c["code"]), str(c["hotkey"]), _bilingual(c, f"{where} confidence"))
            for c in raw["confidence"]
        )
        wording = ScreenWording(
            question=_bilingual(raw["question"], f"{where} [question]"),
            score=_bilingual(raw["score"], f"{where} [score]"),
            score_anchors=tuple(
                ScoreAnchor(float(a["value"]), _bilingual(a, f"{where} score anchor"))
                for a in raw.get("score_anchors", [])
            ),
            confidence=confidence,
            ui={key: Bilingual(str(ui_en[key]), str(ui_zh[key])) for key in ui_en},
            terms=tuple(
                TermNote(str(t["en"]), str(t["zh"]), str(t.get("note", "")))
                for t in raw.get("terms", [])
            ),
            path=path,
            sha256=hashlib.sha256(raw_bytes).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed review wording ({exc!r})") from exc
    hotkeys = [c.hotkey for c in confidence]
    if any(h.isdigit() for h in hotkeys) or len(set(hotkeys)) != len(hotkeys):
        raise ConfigError(f"{where}: confidence hotkeys must be distinct letters ({hotkeys})")
    return wording


def review_rubric(
    scale: RubricScale | None = None,
    wording_path: Path | None = None,
) -> ReviewRubric:
    """The screen's rubric: ``scale`` (default: the exposure rubric's) with its wording file."""
    scale = scale or exposure_scale()
    if len(scale.labels) > MAX_LABELS:
        raise ConfigError(
            f"a rubric with {len(scale.labels)} labels has more than the {MAX_LABELS} hotkeys"
        )
    wording = load_wording(wording_path or DEFAULT_WORDING_DIR / f"{DEFAULT_WORDING}.toml")
    labels = tuple(
        RubricLabel(
            code=label,
            hotkey=str(n),
            name=Bilingual(scale.name_of(label), scale.names_zh.get(label, "")),
            definition=Bilingual(
                scale.definitions.get(label, ""), scale.definitions_zh.get(label, "")
            ),
        )
        for n, label in enumerate(scale.labels, start=1)
    )
    described = [
        [label.code, label.name.en, label.name.zh, label.definition.en, label.definition.zh]
        for label in labels
    ]
    digest = hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()
    return ReviewRubric(labels=labels, wording=wording, scale_sha256=digest)
