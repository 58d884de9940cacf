"""The study's offline reference rater: published human labels voting beside the panel (issue 12).

When the Eloundou et al. (2024) label set is in the data directory (``data fetch
eloundou-2023``; :mod:`dwa_rater.data.registry` says where), the study imports it once into its
own folder (``reference/eloundou_labels.csv``, with the import's manifest beside it) and adds a
``provider = "reference"`` rater: each DWA gets the similarity-weighted vote of the ``k`` most
similar human-labelled task statements (:mod:`dwa_rater.reference`). The import is redone only
when the source file's SHA-256 changes, so the reference file, whose SHA-256 keys the rater's
cached ratings, stays the same between runs. Embedding the labelled statements is the step's
cost on the first run (cached on disk afterwards).

Without the labels, or when turned off, the study runs without it and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dwa_rater.config import RaterSpec
from dwa_rater.data.registry import get_source
from dwa_rater.errors import ConfigError
from dwa_rater.provenance import file_sha256, manifest_path_for
from dwa_rater.study.config import StudyConfig

if TYPE_CHECKING:
    from dwa_rater.embedding import Encoder

#: The registered source of the labels, and the file of it the study reads.
LABEL_SOURCE = "eloundou-2023"
LABEL_FILE = "full_labelset.tsv"
#: File name of the imported labels inside the study's ``reference/`` folder.
IMPORTED_NAME = "eloundou_labels.csv"


def find_labels(data_dir: Path) -> Path | None:
    """The Eloundou et al. label file in ``data_dir``: the release's ``full_labelset.tsv``
    where ``data fetch`` puts it, else a ``full_labelset_dev.tsv`` beside it (a copy holding
    part of the release's occupations); None when neither exists."""
    source = get_source(LABEL_SOURCE)
    release = next(f for f in source.files if f.file_name == LABEL_FILE)
    path = data_dir / release.relative_path
    for candidate in (path, path.with_name(f"{path.stem}_dev{path.suffix}")):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class HumanLabelSample:
    """The human labels the reference rater votes with: which release, which file (``source``,
    its SHA-256), where the study imported it (``path``), how many labels."""

    source: str
    path: str
    sha256: str
    rater: str
    n_labels: int
    n_occupations: int
    release: str

    def describe(self) -> str:
        """One sentence naming the release, the file and the number of labels."""
        return (
            f"{self.n_labels:,} human labels (rater {self.rater!r}, the aggregated annotators' "
            f"E0/E1/E2 label) on O*NET task statements of {self.n_occupations:,} occupations, "
            f"from {self.release}, file {Path(self.source).name} (SHA-256 {self.sha256[:12]})"
        )


@dataclass(frozen=True)
class StudyReference:
    """The reference rater the study adds (``spec``), or why it adds none (``reason``)."""

    spec: RaterSpec | None
    reason: str = ""
    sample: HumanLabelSample | None = None
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The step's record for the study manifest."""
        if self.spec is None or self.sample is None:
            return {"status": "skipped", "reason": self.reason}
        return {
            "rater": self.spec.name,
            "k": self.spec.k,
            "reference_rater": self.spec.reference_rater,
            "reference": self.spec.reference,
            "human_sample": self.sample.describe(),
            "notes": self.notes,
        }


def _release_name() -> str:
    source = get_source(LABEL_SOURCE)
    release = next(f for f in source.files if f.file_name == LABEL_FILE)
    repository, commit = release.url.split("githubusercontent.com/", 1)[1].split("/")[1:3]
    return (
        f"the release of Eloundou et al. (2024) (openai/{repository} at {commit[:7]}, "
        f"{source.licence} licence)"
    )


def import_once(labels: Path, folder: Path) -> tuple[Path, list[str]]:
    """Import ``labels`` (Eloundou layout) into ``folder``, unless an import of the same source
    bytes is already there. Returns the imported file and the import's notes."""
    from dwa_rater.reference.files import import_label_file

    target = folder / IMPORTED_NAME
    manifest = manifest_path_for(target)
    source_sha = file_sha256(labels)
    if target.is_file() and manifest.is_file():
        document = json.loads(manifest.read_text(encoding="utf-8"))
        if document.get("source", {}).get("sha256") == source_sha:
            return target, list(document.get("notes", []))
    folder.mkdir(parents=True, exist_ok=True)
    run = import_label_file(labels, "eloundou", target)
    return run.out, list(run.result.notes)


def _sample(path: Path, rater: str, source: Path) -> HumanLabelSample:
    from dwa_rater.store import ok_ratings, read_ratings

    frame = read_ratings(path)
    rows = ok_ratings(frame[frame["rater"] == rater])
    rows = rows[rows["label"].notna()]
    occupations = rows["onetsoc_code"].nunique() if "onetsoc_code" in rows.columns else 0
    return HumanLabelSample(
        source=str(source),
        path=str(path),
        sha256=file_sha256(source),
        rater=rater,
        n_labels=len(rows),
        n_occupations=int(occupations),
        release=_release_name(),
    )


def prepare_reference(config: StudyConfig, data_dir: Path, folder: Path) -> StudyReference:
    """Decide whether the study adds the reference rater and prepare its labels (see the module
    docstring). ``[reference] use``: ``auto`` adds it to the default panel when the labels are
    found; ``always`` to any panel; ``never`` turns it off."""
    settings = config.reference
    if settings.use == "never":
        return StudyReference(None, 'turned off ([reference] use = "never")')
    if settings.use == "auto" and config.raters:
        return StudyReference(
            None,
            'the study has its own panel ([[raters]]); set [reference] use = "always" to add '
            "the reference rater to it",
        )
    if any(spec.name == settings.name for spec in config.panel()):
        raise ConfigError(f"[reference] name {settings.name!r} is already a rater of the panel")
    labels = Path(settings.labels) if settings.labels else find_labels(data_dir)
    if labels is None or not labels.is_file():
        where = settings.labels or (
            f"{data_dir}/exposure/eloundou_2023/{LABEL_FILE} "
            f"(`dwa-rater data fetch {LABEL_SOURCE}`)"
        )
        return StudyReference(None, f"no human labels to vote with: {where} not found")
    imported, notes = import_once(labels, folder)
    spec = RaterSpec(
        name=settings.name,
        provider="reference",
        reference=str(imported.resolve()),
        reference_rater=settings.rater,
        k=settings.k,
    )
    return StudyReference(spec, sample=_sample(imported, settings.rater, labels), notes=notes)


def embed_reference(
    spec: RaterSpec, embeddings_dir: Path, encoder: Encoder | None = None
) -> dict[str, Any]:
    """Embed the reference's labelled statements into the embedding cache (the slow part on a
    first run; the rating step then reads them back) and return what it embedded."""
    from dwa_rater.reference.engine import build_reference_rater

    rater = build_reference_rater(spec, embeddings_dir, encoder)
    vectors = rater.vectors
    return {
        "embedded_statements": int(vectors.shape[0]),
        "embedding_model": rater.embeddings.encoder.name,
        "method": rater.description(),
    }
