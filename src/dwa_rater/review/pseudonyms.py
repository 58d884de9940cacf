"""Annotator pseudonyms: HMAC-SHA-256 of the e-mail address, keyed by a secret.

An unkeyed hash of an e-mail address can be reversed by hashing guessed addresses, so the
pseudonym is ``annotator-`` + the first 12 hex digits of HMAC-SHA-256(key, e-mail), the e-mail
lower-cased and stripped (RFC 2104; Python's :mod:`hmac`). The key comes only from the
environment variable ``DWA_RATER_PSEUDONYM_KEY``; it is never written anywhere. Export files
record the scheme and a *key id* (the first 8 hex digits of HMAC-SHA-256(key, a fixed label)),
which tells whether two files were made with the same key without revealing it.

Exports written before this scheme (format ``/1``) hold unkeyed pseudonyms (``annotator-`` + 10
hex of SHA-256); :func:`repseudonymise` converts a document given the server's user list.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dwa_rater.errors import ConfigError

#: The environment variable holding the pseudonym key.
PSEUDONYM_KEY_ENV = "DWA_RATER_PSEUDONYM_KEY"
#: Shortest key accepted, in characters.
MIN_KEY_LENGTH = 16
#: Name of the scheme, recorded in export files.
SCHEME = "hmac-sha256"
#: The scheme of files without one (format /1).
LEGACY_SCHEME = "sha256"

_KEY_ID_LABEL = b"dwa_rater pseudonym key id"
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class PseudonymKey:
    """The secret key (never shown in reprs) and its public id."""

    secret: bytes
    key_id: str

    def __repr__(self) -> str:
        return f"PseudonymKey(key_id={self.key_id!r})"

    def pseudonym(self, email: str) -> str:
        """``annotator-`` + 12 hex of HMAC-SHA-256(key, lower-cased stripped e-mail)."""
        message = email.strip().lower().encode("utf-8")
        return "annotator-" + hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:12]

    def describe(self) -> dict[str, str]:
        """What export files record about the scheme (no secret)."""
        return {"scheme": SCHEME, "key_id": self.key_id}


def make_key(secret: str) -> PseudonymKey:
    """A key from its text; ``ConfigError`` when shorter than ``MIN_KEY_LENGTH``."""
    if len(secret) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"{PSEUDONYM_KEY_ENV} is shorter than {MIN_KEY_LENGTH} characters; "
            f"generate one with: {GENERATE_HINT}"
        )
    raw = secret.encode("utf-8")
    key_id = hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]
    return PseudonymKey(raw, key_id)


def key_from_environment(environ: Mapping[str, str]) -> PseudonymKey:
    """The key from ``DWA_RATER_PSEUDONYM_KEY``; a one-line ``ConfigError`` when it is unset."""
    secret = environ.get(PSEUDONYM_KEY_ENV, "")
    if not secret:
        raise ConfigError(
            f"{PSEUDONYM_KEY_ENV} is not set: annotator pseudonyms need a secret key; "
            f"generate one with: export {PSEUDONYM_KEY_ENV}=$({GENERATE_HINT}) and keep it "
            "(same key, same pseudonyms) outside the repository"
        )
    return make_key(secret)


def legacy_pseudonym(email: str) -> str:
    """The unkeyed pseudonym of format /1 exports: ``annotator-`` + 10 hex of SHA-256."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"annotator-{digest[:10]}"


def document_scheme(document: Mapping[str, Any]) -> tuple[str, str | None]:
    """(scheme, key id) of an export document; format /1 files are the legacy scheme."""
    recorded = document.get("pseudonyms")
    if isinstance(recorded, Mapping):
        return str(recorded.get("scheme", LEGACY_SCHEME)), recorded.get("key_id")
    return LEGACY_SCHEME, None


def needs_conversion(document: Mapping[str, Any], key: PseudonymKey) -> bool:
    """Whether a document's pseudonyms were made otherwise than with ``key``."""
    return document_scheme(document) != (SCHEME, key.key_id)


def repseudonymise(
    document: Mapping[str, Any], emails: Mapping[str, str], key: PseudonymKey
) -> dict[str, Any]:
    """A copy of an export document whose ``annotators`` map uses ``key``.

    ``emails`` maps Label Studio user ids (as str) to e-mail addresses (the server's user
    list). A user id of the document the server no longer knows keeps a pseudonym made from
    ``user-<id>``, as a pull would give it.
    """
    converted = dict(document)
    converted["annotators"] = {
        str(user): key.pseudonym(emails.get(str(user)) or f"user-{user}")
        for user in document.get("annotators", {})
    }
    converted["pseudonyms"] = key.describe()
    return converted
