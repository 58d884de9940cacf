"""Keyed annotator pseudonyms (dwa_rater.review.pseudonyms)."""

from __future__ import annotations

import hashlib

import pytest

from dwa_rater.errors import ConfigError
from dwa_rater.review.pseudonyms import (
    PSEUDONYM_KEY_ENV,
    SCHEME,
    key_from_environment,
    legacy_pseudonym,
    make_key,
    needs_conversion,
    repseudonymise,
)

SECRET = "test-key-0123456789abcdef"


def test_pseudonym_is_hmac_sha256_of_the_normalised_email() -> None:
    key = make_key(SECRET)
    # Reference: echo -n alice@example.com | openssl dgst -sha256 -hmac test-key-0123456789abcdef
    assert key.pseudonym(" Alice@Example.COM ") == "annotator-c27873e513dd"
    # echo -n "dwa_rater pseudonym key id" | openssl dgst -sha256 -hmac <the same key>
    assert key.key_id == "c3959adf"
    assert key.describe() == {"scheme": SCHEME, "key_id": "c3959adf"}


def test_the_email_alone_does_not_give_the_pseudonym() -> None:
    email = "alice@example.com"
    name = make_key(SECRET).pseudonym(email).removeprefix("annotator-")
    assert name != hashlib.sha256(email.encode()).hexdigest()[: len(name)]
    assert make_key("another-secret-0123456789").pseudonym(email) != make_key(SECRET).pseudonym(
        email
    )
    assert SECRET not in repr(make_key(SECRET))


def test_unset_or_short_key_is_a_one_line_error_saying_how_to_make_one() -> None:
    with pytest.raises(ConfigError) as caught:
        key_from_environment({})
    message = str(caught.value)
    assert PSEUDONYM_KEY_ENV in message and "secrets.token_hex(32)" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="shorter than 16"):
        key_from_environment({PSEUDONYM_KEY_ENV: "short"})
    assert key_from_environment({PSEUDONYM_KEY_ENV: SECRET}).key_id == "c3959adf"


def test_old_exports_convert_with_the_servers_user_list() -> None:
    key = make_key(SECRET)
    old = {
        "format": "dwa_rater.labelstudio_export/1",
        "annotators": {"2": legacy_pseudonym("alice@example.com"), "9": "annotator-0000000000"},
        "tasks": [{"id": 1, "annotations": []}],
    }
    assert needs_conversion(old, key)
    new = repseudonymise(old, {"2": "alice@example.com"}, key)
    assert new["annotators"] == {
        "2": key.pseudonym("alice@example.com"),
        "9": key.pseudonym("user-9"),  # a user the server no longer knows
    }
    assert new["pseudonyms"] == key.describe() and new["tasks"] == old["tasks"]
    assert not needs_conversion(new, key)
    assert needs_conversion(new, make_key("another-secret-0123456789"))
    assert old["annotators"]["2"] == legacy_pseudonym("alice@example.com")  # input untouched
