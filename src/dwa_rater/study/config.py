"""Settings of the one-command study, from a TOML file with sensible defaults.

Everything is optional; the defaults run the whole study offline on the embedded model (and the
reference rater when the data dir holds the Eloundou labels) in about 30 minutes on 2 cores the
first time (see the README's Benchmarks). Layout::

    [study]
    sample = 100          # DWAs rated (seeded random sample); all = true for all 2,087
    seed = 1
    all = false

    [[raters]]            # the panel (default: see DEFAULT_PANEL); same keys as --raters files
    name = "exposure-t0"

    [reference]           # the offline reference rater beside the panel (issue 12)
    use = "auto"          # auto: with the default panel, when the labels are found; always; never
    labels = ""           # Eloundou et al. full_labelset.tsv; empty: found in the data dir
    rater = "human"       # whose labels vote (the release's aggregated human label)
    k = 15
    name = "reference-human"

    [review]
    project = "dwa-review"     # Label Studio project, used when LABEL_STUDIO_URL/API_KEY are set
    mode = "blind"
    overlap = 2
    score_spread = 0.25
    audit_fraction = 0.2
    human_rater = "human"

    [postings]
    file = ""                  # your postings (CSV/Parquet); empty: synthetic postings
    synthetic_n = 2000
    synthetic_report_trends = false  # true: build the report's trends into synthetic postings
    periods = []               # two windows, e.g. ["2022", "2024H1"]; default: the report's
                               # when the postings cover them, else the first and last year
    ai_periods = []            # AI talent windows; default 2023H1 vs 2024H1 when covered
    crosswalk = ""             # category -> O*NET-SOC table; empty: proposed by embeddings
    crosswalk_overrides = ""   # reviewer decisions: category, onetsoc_code, weight
    ai_occupations = ["自然语言处理工程师", "机器人算法工程师", "深度学习工程师",
                      "智能驾驶系统工程师", "导航算法工程师"]  # the report's AI titles

    [indices]
    ai_indicators = ""         # default: <data dir>/report_2024/ai_city_indicators_top30.csv
    ai_method = "entropy"
    measure = "beta"
    city_weighting = "national"  # the report's; or national-all, within-city
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dwa_rater.config import RaterSpec
from dwa_rater.errors import ConfigError

#: The default panel on the embedded model: two rubrics, and a sampled rater with two samples
#: so that self-consistency can be measured.
DEFAULT_PANEL: tuple[dict[str, Any], ...] = (
    {"name": "exposure-t0", "rubric": "exposure", "temperature": 0.0, "concurrency": 1},
    {
        "name": "exposure-t08",
        "rubric": "exposure",
        "temperature": 0.8,
        "samples": 2,
        "seed": 7,
        "concurrency": 1,
    },
    {"name": "ilo-t0", "rubric": "ilo", "temperature": 0.0, "concurrency": 1},
)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudySection(_Section):
    sample: int = Field(default=100, ge=2)
    seed: int = 1
    all: bool = False


class ReferenceSection(_Section):
    use: Literal["auto", "always", "never"] = "auto"
    labels: str = ""
    rater: str = "human"
    k: int = Field(default=15, ge=1, le=1000)
    name: str = Field(default="reference-human", pattern=r"^[A-Za-z0-9_.:@+-]+$")


class ReviewSection(_Section):
    project: str = "dwa-review"
    mode: Literal["blind", "assisted"] = "blind"
    overlap: int = Field(default=2, ge=1)
    score_spread: float = Field(default=0.25, ge=0, le=1)
    audit_fraction: float = Field(default=0.2, ge=0, le=1)
    human_rater: str = "human"


class PostingsSection(_Section):
    file: str = ""
    synthetic_n: int = Field(default=2000, ge=50)
    seed: int = 0
    synthetic_report_trends: bool = False
    periods: tuple[str, ...] = ()
    ai_periods: tuple[str, ...] = ()
    crosswalk: str = ""
    crosswalk_overrides: str = ""
    # The AI job titles whose H1 2024 posting growth the report lists.
    ai_occupations: tuple[str, ...] = (
        "自然语言处理工程师",
        "机器人算法工程师",
        "深度学习工程师",
        "智能驾驶系统工程师",
        "导航算法工程师",
    )


class IndicesSection(_Section):
    ai_indicators: str = ""
    ai_method: Literal["minmax", "zscore", "entropy", "pca", "rank"] = "entropy"
    city_weighting: Literal["national", "national-all", "within-city"] = "national"
    measure: Literal["alpha", "beta", "gamma", "score"] = "beta"


class StudyConfig(_Section):
    """The whole study's settings (frozen)."""

    study: StudySection = StudySection()
    raters: tuple[RaterSpec, ...] = ()
    reference: ReferenceSection = ReferenceSection()
    review: ReviewSection = ReviewSection()
    postings: PostingsSection = PostingsSection()
    indices: IndicesSection = IndicesSection()

    def panel(self) -> tuple[RaterSpec, ...]:
        """The raters: as configured, else :data:`DEFAULT_PANEL` on the embedded model."""
        return self.raters or tuple(RaterSpec(**values) for values in DEFAULT_PANEL)


def load_study_config(path: Path | None, **overrides: Any) -> StudyConfig:
    """Read a study TOML file (or take the defaults) and apply command-line overrides.

    ``overrides`` are dotted keys, e.g. ``{"study.sample": 20, "postings.file": "x.csv"}``;
    ``None`` values are ignored.
    """
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: study file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, key = dotted.split(".", 1)
        document.setdefault(section, {})[key] = value
    try:
        return StudyConfig(**document)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path or 'study settings'}: {location}: {first['msg']}") from exc
