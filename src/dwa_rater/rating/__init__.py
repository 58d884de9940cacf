"""Rating: plans and estimates, request bodies per structured-output mode, the live engine, and
the result sink every transport (live, Batch API, reference raters) writes through.

- :mod:`~dwa_rater.rating.plan`: rater plans, units, requests, token and cost estimates;
- :mod:`~dwa_rater.rating.requests`: request bodies per mode, answers read back, usage;
- :mod:`~dwa_rater.rating.sink`: validation, cache, journal and counters (:class:`ResultSink`);
- :mod:`~dwa_rater.rating.engine`: the async engine (limits, retries, re-asks, splitting);
- :mod:`~dwa_rater.rating.audit`: the append-only log of raw completions.
"""

from __future__ import annotations

from dwa_rater.rating.audit import RawLog, raw_completions_for, raw_log_path
from dwa_rater.rating.engine import RatingEngine, cut_reason, failure_reason
from dwa_rater.rating.plan import (
    CHARS_PER_TOKEN,
    OUTPUT_TOKENS_PER_ITEM,
    DryRunEstimate,
    RaterPlan,
    Unit,
    chunk_units,
    cost_of,
    estimate_prompt_tokens,
    estimate_run,
    plan_units,
)
from dwa_rater.rating.requests import Answer, Usage, read_answer, request_body
from dwa_rater.rating.sink import Progress, ProgressCallback, ResultSink, now_iso

__all__ = [
    "CHARS_PER_TOKEN",
    "OUTPUT_TOKENS_PER_ITEM",
    "Answer",
    "DryRunEstimate",
    "Progress",
    "ProgressCallback",
    "RaterPlan",
    "RatingEngine",
    "RawLog",
    "ResultSink",
    "Unit",
    "Usage",
    "chunk_units",
    "cost_of",
    "cut_reason",
    "estimate_prompt_tokens",
    "estimate_run",
    "failure_reason",
    "now_iso",
    "plan_units",
    "raw_completions_for",
    "raw_log_path",
    "read_answer",
    "request_body",
]
