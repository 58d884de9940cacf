"""Rating through a provider's Batch API (OpenAI's ``/v1/files`` and ``/v1/batches``): half price.

Requests are the live path's request bodies, written as JSONL lines whose ``custom_id`` is the
unit's cache key (for requests of several items, the SHA-256 of their keys; the state maps each
id to its units). Parts respect the per-file limits and an enqueued-token cap; answers are
validated, cached and journalled exactly like live ones. Everything needed to finish lives in
``<out dir>/batches/<out file name>/state.json``, so work survives restarts of this process and
of the server.

- :mod:`~dwa_rater.batch_api.lines`: request lines, custom ids, token estimates, file limits;
- :mod:`~dwa_rater.batch_api.results`: output and error lines, answers;
- :mod:`~dwa_rater.batch_api.state`: the on-disk state, its lock and the cancel request;
- :mod:`~dwa_rater.batch_api.runner`: submit, poll, ingest, resubmit;
- :mod:`~dwa_rater.batch_api.jobs`: the functions behind the command line.
"""

from __future__ import annotations

from dwa_rater.batch_api.jobs import (
    BatchOutcome,
    BatchStatus,
    batch_status,
    cancel_batches,
    resume_batches,
    run_batch_api,
)
from dwa_rater.batch_api.lines import custom_id_for, estimate_request_tokens
from dwa_rater.batch_api.state import BatchSettings, state_dir_for

__all__ = [
    "BatchOutcome",
    "BatchSettings",
    "BatchStatus",
    "batch_status",
    "cancel_batches",
    "custom_id_for",
    "estimate_request_tokens",
    "resume_batches",
    "run_batch_api",
    "state_dir_for",
]
