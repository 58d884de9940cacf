"""Rater specs from TOML and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwa_rater.config import (
    AD_HOC_CONCURRENCY,
    RaterSpec,
    default_rater,
    load_raters,
    raters_for_run,
)
from dwa_rater.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "raters.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_several_raters_with_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[defaults]
temperature = 0.5
[[raters]]
name = "local"
[[raters]]
name = "gpt"
provider = "openai"
model = "gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"
rubric = "ilo@v1"
samples = 3
batch_size = 10
requests_per_minute = 500
tokens_per_minute = 200000
temperature = 1.0
""",
    )
    local, gpt = load_raters(path)
    assert local.is_embedded and local.concurrency == 1 and local.temperature == 0.5
    assert gpt.resolved_base_url == "https://api.openai.com/v1" and gpt.temperature == 1.0
    assert gpt.prices() == (0.15, 0.60)
    assert "sk-" not in str(gpt.public_dict())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[raters]\nname='x'", "invalid TOML"),
        ("[[raters]]\nname='x'\nmodle='y'", "modle"),
        ("[[raters]]\nname='x'\n[[raters]]\nname='x'", "duplicate rater"),
        ("[[raters]]\nname='x'\ntemperature=5", "temperature"),
        ("[[raters]]\nname='x'\nprovider='acme'", "unknown provider"),
        ("[[raters]]\nname='x'\nbase_url='ftp://x'", "base_url"),
        ("title='x'", "unknown section"),
        ("[defaults]\ntemperature=0", "no \\[\\[raters\\]\\]"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_raters(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_raters(tmp_path / "nope.toml")


def test_default_rater_is_embedded_exposure() -> None:
    spec = default_rater()
    assert spec.is_embedded and spec.rubric == "exposure" and spec.endpoint_identity == "embedded"
    assert default_rater(batch_size=20).effective_max_tokens() == 200 * 20 + 50


def test_endpoint_identity_never_holds_the_key() -> None:
    spec = RaterSpec(name="x", base_url="http://127.0.0.1:8000/v1/", api_key_env="K")
    assert spec.endpoint_identity == "http://127.0.0.1:8000/v1"


def test_a_run_gets_a_files_raters_or_one_ad_hoc_rater(tmp_path: Path) -> None:
    assert raters_for_run(None, {"model": None}) == [default_rater()]
    (remote,) = raters_for_run(
        None, {"base_url": "http://127.0.0.1:9/v1", "model": "m", "rubric": "ilo@v1"}
    )
    assert remote.name == "m-ilo@v1" and remote.concurrency == AD_HOC_CONCURRENCY
    # a model id with a slash (as DeepSeek's and Qwen's hosts spell them) makes a valid name
    (slashed,) = raters_for_run(None, {"provider": "deepseek", "model": "deepseek-ai/DeepSeek-V3"})
    assert slashed.name == "deepseek-ai-DeepSeek-V3-exposure"
    (named,) = raters_for_run(
        None, {"base_url": "http://127.0.0.1:9/v1", "model": "m", "name": "x", "concurrency": 2}
    )
    assert (named.name, named.concurrency) == ("x", 2)
    path = write(tmp_path, '[[raters]]\nname = "a"\nbase_url = "http://h/v1"\nmodel = "m"\n')
    assert [r.name for r in raters_for_run(path, {"model": None})] == ["a"]
    with pytest.raises(ConfigError, match="not both"):
        raters_for_run(path, {"model": "m"})
