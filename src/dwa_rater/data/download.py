"""Download one file over HTTP(S) into a temporary file beside its destination, checking it.

Standard library only (``urllib``): the registry pins URLs, sizes and SHA-256 itself, and a
download cache (as ``pooch`` keeps one) would be one more place a refused file could linger.
The caller decides where the temporary file lives (inside the destination's filesystem, so
that the final move is an atomic ``os.replace``) and removes it when anything fails.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from dwa_rater import __version__
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.provenance import file_sha256

#: Environment variable naming a mirror whose scheme, host (and optional path prefix) replace
#: those of every source URL.
MIRROR_ENV = "DWA_RATER_DATA_MIRROR"

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0
ATTEMPTS = 3
#: Seconds before the second attempt; doubles after each failure.
RETRY_WAIT_S = 1.0


class ChecksumError(DataError):
    """A downloaded (or present) file's size or SHA-256 is not the expected one."""


@dataclass(frozen=True)
class Downloaded:
    """A file fetched into ``path`` (a temporary name), with its measured size and SHA-256."""

    path: Path
    size: int
    sha256: str


def apply_mirror(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by the mirror's (and the mirror's path prefixed).

    ``apply_mirror("https://example.org/a/b.csv", "http://127.0.0.1:8000/m")`` gives
    ``http://127.0.0.1:8000/m/a/b.csv``. An empty or None mirror leaves the URL unchanged.
    """
    if not mirror:
        return url
    parts = urlsplit(mirror.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{MIRROR_ENV} must be an http(s) URL such as https://mirror.example.org/data, "
            f"got {_without_credentials(mirror)!r}"
        )
    original = urlsplit(url)
    path = parts.path.rstrip("/") + original.path
    return urlunsplit((parts.scheme, parts.netloc, path, original.query, ""))


def _without_credentials(url: str) -> str:
    """The URL without any ``user:password@`` part, safe to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def display_url(url: str) -> str:
    """The URL as it may appear in messages and records (no credentials)."""
    return _without_credentials(url)


def check_file(path: Path, size: int | None, sha256: str | None, label: str) -> tuple[int, str]:
    """Check a present file against an expected size and SHA-256 (either may be None).

    Returns the measured (size, sha256); raises ``ChecksumError`` naming ``label`` otherwise.
    """
    measured_size = path.stat().st_size
    if size is not None and measured_size != size:
        raise ChecksumError(f"{label}: size {measured_size:,} bytes, expected {size:,}")
    measured = file_sha256(path)
    if sha256 is not None and measured != sha256.lower():
        raise ChecksumError(f"{label}: SHA-256 {measured}, expected {sha256.lower()}")
    return measured_size, measured


def download(
    url: str,
    target: Path,
    *,
    size: int | None,
    sha256: str | None,
    label: str,
    timeout_s: float = TIMEOUT_S,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> Downloaded:
    """Stream ``url`` into ``target`` (created or overwritten) and check size and SHA-256.

    Connection failures, timeouts and HTTP 5xx/429 are retried (``attempts`` in all, waiting
    ``RETRY_WAIT_S``, then twice that, ...); any other HTTP status, a size or checksum mismatch
    raise at once. On any error the partial ``target`` is deleted before raising. A body longer
    than the pinned size is cut off as soon as it exceeds it.
    """
    shown = display_url(url)
    for attempt in range(1, attempts + 1):
        try:
            return _download_once(url, target, size, sha256, label, timeout_s)
        except _Transient as error:
            target.unlink(missing_ok=True)
            if attempt == attempts:
                raise DataError(f"{label}: cannot download {shown} ({error})") from None
            sleep(RETRY_WAIT_S * 2 ** (attempt - 1))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _is_loopback(host: str | None) -> bool:
    return host in ("localhost", "::1") or bool(host and host.startswith("127."))


class _Transient(Exception):
    """A failure worth another attempt."""


def _download_once(
    url: str, target: Path, size: int | None, sha256: str | None, label: str, timeout_s: float
) -> Downloaded:
    shown = display_url(url)
    headers = {"User-Agent": f"dwa-rater/{__version__}"}
    parts = urlsplit(url)
    if parts.username is not None:
        # A mirror behind basic authentication: credentials go in a header, never in a message.
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(login.encode()).decode("ascii")
        url = shown
    request = urllib.request.Request(url, headers=headers)
    # Environment proxies apply, except to a mirror on this machine (a proxy cannot reach it).
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(parts.hostname) else []
    opener = urllib.request.build_opener(*handlers)
    digest = hashlib.sha256()
    written = 0
    try:
        with opener.open(request, timeout=timeout_s) as response:
            announced = response.headers.get("Content-Length")
            if (
                size is not None
                and announced is not None
                and announced.isdigit()
                and int(announced) != size
            ):
                raise ChecksumError(
                    f"{label}: {shown} announces {int(announced):,} bytes, expected {size:,}; "
                    "refused"
                )
            with target.open("wb") as handle:
                while chunk := response.read(CHUNK_BYTES):
                    written += len(chunk)
                    if size is not None and written > size:
                        raise ChecksumError(
                            f"{label}: {shown} sent more than the expected {size:,} bytes; refused"
                        )
                    digest.update(chunk)
                    handle.write(chunk)
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise _Transient(f"HTTP {error.code}") from None
        raise DataError(f"{label}: {shown} answered HTTP {error.code} {error.reason}") from None
    except (
        urllib.error.URLError,
        TimeoutError,
        ConnectionError,
        http.client.HTTPException,
    ) as error:
        reason = getattr(error, "reason", error)
        raise _Transient(str(reason)) from None
    measured = digest.hexdigest()
    if size is not None and written != size:
        raise ChecksumError(
            f"{label}: got {written:,} bytes from {shown}, expected {size:,}; refused"
        )
    if sha256 is not None and measured != sha256.lower():
        raise ChecksumError(
            f"{label}: SHA-256 of {shown} is {measured}, expected {sha256.lower()}; refused"
        )
    return Downloaded(target, written, measured)
