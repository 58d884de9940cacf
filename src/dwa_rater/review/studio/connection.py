"""The connection to Label Studio: where it is, a token-checked client, one-line errors.

The only module that imports ``label_studio_sdk`` at run time. Inside :func:`_calls`, every SDK
or network failure becomes a one-line :class:`~dwa_rater.errors.ReviewError` that never shows
the API token.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from dwa_rater.errors import ConfigError, ReviewError


@dataclass(frozen=True)
class StudioConnection:
    """Where Label Studio is and the API token to use (never shown in reprs or messages)."""

    url: str
    api_key: str = field(repr=False)
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if not self.url:
            raise ConfigError("no Label Studio URL: set LABEL_STUDIO_URL")
        if not self.api_key:
            raise ConfigError("no Label Studio API token: set LABEL_STUDIO_API_KEY")


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _api_detail(error: ApiError) -> str:
    body = error.body
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("validation_errors") or body
        return _one_line(json.dumps(detail) if not isinstance(detail, str) else detail)
    return _one_line(str(body or ""))


@contextlib.contextmanager
def _calls(connection: StudioConnection, doing: str) -> Iterator[None]:
    """Turn SDK and network failures into one-line ReviewErrors (never showing the token)."""
    try:
        yield
    except ApiError as error:
        status = error.status_code
        if status == 401:
            raise ReviewError(
                f"Label Studio at {connection.url} refused the API token while {doing} "
                "(check LABEL_STUDIO_API_KEY)"
            ) from None
        if status == 403:
            raise ReviewError(
                f"Label Studio at {connection.url} forbids {doing} for this token"
            ) from None
        if status is None:
            raise ReviewError(
                f"Label Studio client error while {doing}: {_api_detail(error)}"
            ) from None
        raise ReviewError(
            f"Label Studio at {connection.url} answered {status} while {doing}: "
            f"{_api_detail(error)}"
        ) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise ReviewError(
            f"cannot reach Label Studio at {connection.url} while {doing} ({_one_line(error)}); "
            "is it running? (scripts/labelstudio.sh start)"
        ) from None
    except httpx.HTTPError as error:
        raise ReviewError(
            f"network error talking to Label Studio at {connection.url} while {doing}: "
            f"{type(error).__name__} {_one_line(error)}"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        # Unexpected payloads (an HTML page instead of JSON, a proxy in between, ...).
        raise ReviewError(
            f"unexpected answer from Label Studio at {connection.url} while {doing}: "
            f"{type(error).__name__} {_one_line(error)}"
        ) from None


def connect(connection: StudioConnection) -> LabelStudio:
    """A client whose token has been checked against the server (``whoami``)."""
    client = LabelStudio(
        base_url=connection.url.rstrip("/"),
        api_key=connection.api_key,
        timeout=connection.timeout,
        max_retries=2,
    )
    with _calls(connection, "checking the token"):
        client.users.whoami()
    return client
