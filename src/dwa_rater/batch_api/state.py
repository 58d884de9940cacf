"""The on-disk state of Batch API work: requests, the parts (batches) holding them, settings.

One state per ratings output, in ``<out dir>/batches/<out file name>/``: ``state.json`` (rewritten
atomically after every step, so a process killed at any moment leaves the last complete state),
the request files ``part-NNNN.jsonl`` as uploaded, and the downloaded ``.output.jsonl`` and
``.errors.jsonl`` of each finished batch. A ``lock`` file (``flock``, released by the kernel when
the process dies) keeps two processes from driving the same batches; ``cancel-requested`` asks
the process driving them to cancel. No secret is ever written here: raters are stored as
:meth:`RaterSpec.public_dict` (the *name* of the key's environment variable, not its value).

Each request is keyed by its ``custom_id``: the cache key of its unit when it holds one unit,
else the SHA-256 of its units' cache keys joined by newlines; the mapping to the units lives in
:attr:`BatchState.requests`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.rating import Unit
from dwa_rater.schemas import Item, ItemType

STATE_FILE = "state.json"
LOCK_FILE = "lock"
CANCEL_FILE = "cancel-requested"

#: Limits of one Batch API input file (OpenAI, 2025).
MAX_REQUESTS_PER_FILE = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024

#: Server statuses after which a batch changes no more.
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
#: Local statuses of a part not yet created on the server.
LOCAL_STATUSES = frozenset({"prepared", "uploaded"})


def state_dir_for(out: Path) -> Path:
    """Where the Batch API state of the ratings output ``out`` lives."""
    return out.parent / "batches" / out.name


class BatchSettings(BaseModel):
    """How Batch API work is split, submitted and watched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_interval_s: float = Field(default=30.0, gt=0)
    max_requests_per_file: int = Field(
        default=MAX_REQUESTS_PER_FILE, ge=1, le=MAX_REQUESTS_PER_FILE
    )
    max_file_bytes: int = Field(default=MAX_FILE_BYTES, ge=1024, le=MAX_FILE_BYTES)
    #: Cap on the estimated tokens of a model's batches in flight (the provider's enqueued-token
    #: limit); ``None`` submits every part at once.
    max_enqueued_tokens: int | None = Field(default=None, ge=1)
    #: Consecutive polling rounds with the server unreachable before giving up (state kept).
    max_poll_failures: int = Field(default=20, ge=1)
    #: The SDK's own retries of each control request (upload, create, retrieve, download).
    http_retries: int = Field(default=2, ge=0, le=10)


class UnitRecord(BaseModel):
    """One (item, sample) pair of a request, with the item's full text (for resuming)."""

    item_id: str
    item_type: ItemType
    text: str
    context: str = ""
    sample: int
    key: str

    @classmethod
    def of(cls, unit: Unit) -> UnitRecord:
        item = unit.item
        return cls(
            item_id=item.item_id,
            item_type=item.item_type,
            text=item.text,
            context=item.context,
            sample=unit.sample,
            key=unit.key,
        )

    def unit(self) -> Unit:
        item = Item(
            item_id=self.item_id, item_type=self.item_type, text=self.text, context=self.context
        )
        return Unit(item=item, sample=self.sample, key=self.key)


class RequestRecord(BaseModel):
    """One request line: its units, the budgets left, and the part that holds it now."""

    custom_id: str
    rater: str
    units: list[UnitRecord]
    #: Answered rounds left (first ask plus re-asks of invalid or missing items).
    rounds_left: int
    #: Resubmissions left after transient line errors, expiry or a failed batch.
    retries_left: int
    #: Name of the part it was last submitted in; ``None`` while waiting for submission.
    part: str | None = None


class PartRecord(BaseModel):
    """One input file and the batch made of it."""

    name: str
    rater: str
    file: str
    requests: int
    bytes: int
    estimated_tokens: int
    status: str = "prepared"
    input_file_id: str | None = None
    batch_id: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    request_counts: dict[str, int] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[str] = Field(default_factory=list)
    ingested: bool = False

    @property
    def active(self) -> bool:
        """Still to be created, running, or finished but not yet ingested."""
        return not self.ingested

    @property
    def in_flight(self) -> bool:
        """Counted against the enqueued-token cap: on the server and not finished."""
        return self.batch_id is not None and self.status not in TERMINAL_STATUSES


class RaterRecord(BaseModel):
    """A rater as submitted: its public spec and the prompt and model its cache keys used."""

    spec: dict[str, Any]
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    model: str


class BatchState(BaseModel):
    """Everything needed to finish Batch API work from this file alone."""

    version: Literal[1] = 1
    out: str
    settings: BatchSettings = Field(default_factory=BatchSettings)
    raters: dict[str, RaterRecord] = Field(default_factory=dict)
    requests: dict[str, RequestRecord] = Field(default_factory=dict)
    parts: list[PartRecord] = Field(default_factory=list)
    next_part: int = 1

    def pending(self, rater: str | None = None) -> list[RequestRecord]:
        """Requests waiting for submission (of one rater, or all)."""
        return [
            r
            for r in self.requests.values()
            if r.part is None and (rater is None or r.rater == rater)
        ]

    def active_parts(self) -> list[PartRecord]:
        return [p for p in self.parts if p.active]

    def part(self, name: str) -> PartRecord:
        for part in self.parts:
            if part.name == name:
                return part
        raise DataError(f"batch state has no part {name}")


def load_state(directory: Path) -> BatchState | None:
    """The state in ``directory``, or ``None`` if there is none."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        return BatchState.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Batch API state ({str(exc)[:200]})") from exc


def save_state(directory: Path, state: BatchState) -> None:
    """Write the state atomically: temporary file, fsync, rename."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    temporary = directory / f".{STATE_FILE}.tmp"
    data = state.model_dump_json(indent=1).encode("utf-8")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def write_text_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@contextlib.contextmanager
def state_lock(directory: Path) -> Iterator[None]:
    """Hold the state's lock for the duration; fail at once if another process holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{directory}: another dwa-rater process is driving these batches; "
                "wait for it, or ask it to stop with `dwa-rater batches cancel`"
            ) from None
        yield
    finally:
        os.close(fd)


def is_locked(directory: Path) -> bool:
    """True while a process drives the batches of ``directory``."""
    if not (directory / LOCK_FILE).exists():
        return False
    try:
        with state_lock(directory):
            return False
    except ConfigError:
        return True


def request_cancel(directory: Path) -> None:
    write_text_atomic(directory / CANCEL_FILE, json.dumps({"cancel": True}) + "\n")


def cancel_requested(directory: Path) -> bool:
    return (directory / CANCEL_FILE).exists()


def clear_cancel(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (directory / CANCEL_FILE).unlink()
