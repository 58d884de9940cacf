"""A rubric's scale lives in its manifest, and a rubric with other labels needs no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dwa_rater.agreement import assess_agreement, build_scale
from dwa_rater.config import RaterSpec
from dwa_rater.errors import PromptError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR, exposure_scale, load_prompt
from dwa_rater.review.labeling import build_label_config
from dwa_rater.rubric import parse_scale
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import ok_ratings, read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer

LEVELS_MANIFEST = """name = "levels"
version = "v1"
output = "exposure"
description = "A test rubric with three plain-word levels"

[scale]
labels = ["none", "all", "some"]
order = ["none", "some", "all"]
default_coding = "linear"

[scale.codings.linear]
none = 0.0
some = 0.5
all = 1.0

[scale.codings.any]
none = 0.0
some = 1.0
all = 1.0

[scale.names]
none = "not at all"
some = "partly"
all = "entirely"

[scale.definitions]
none = "An LLM does none of it."
some = "An LLM does part of it."
all = "An LLM does all of it."
"""


@pytest.fixture
def levels_prompts(tmp_path: Path) -> Path:
    """A prompts folder with the shipped rubrics plus ``levels@v1``, whose labels differ."""
    root = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, root)
    folder = root / "levels" / "v1"
    folder.mkdir(parents=True)
    for name in ("system.md", "user.md"):
        shutil.copy(DEFAULT_PROMPTS_DIR / "exposure" / "v1" / name, folder / name)
    (folder / "manifest.toml").write_text(LEVELS_MANIFEST, encoding="utf-8")
    return root


def test_exposure_scale_comes_from_its_manifest() -> None:
    scale = exposure_scale()
    assert scale.labels == ("E0", "E1", "E2")
    assert scale.order == ("E0", "E2", "E1")
    assert scale.coding("beta") == {"E0": 0.0, "E2": 0.5, "E1": 1.0}
    assert scale.coding("alpha")["E2"] == 0.0 and scale.coding("gamma")["E2"] == 1.0
    assert set(scale.definitions) == {"E0", "E1", "E2"}
    assert load_prompt("exposure").output.labels == ("E0", "E1", "E2")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"labels": []}, "non-empty list"),
        ({"labels": ["a", "a"], "codings": {"c": {"a": 0}}}, "repeats"),
        ({"labels": ["a", "b"], "order": ["a", "c"], "codings": {"c": {"a": 0, "b": 1}}}, "order"),
        ({"labels": ["a", "b"], "codings": {}}, "at least one coding"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0}}}, "one code for each"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 1, "b": 0}}}, "decreases"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0, "b": 1}}, "default_coding": "x"}, "x"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0, "b": 1}}, "names": {"z": "?"}}, "names"),
    ],
)
def test_bad_scales_are_refused_with_the_reason(table: dict[str, object], message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_scale(table, "demo/v1/manifest.toml")


def test_a_rubric_with_other_labels_runs_rate_agree_and_review(
    tmp_path: Path, levels_prompts: Path
) -> None:
    prompt = load_prompt("levels", None, levels_prompts)
    assert prompt.scale is not None and prompt.output.labels == ("none", "all", "some")
    items = [Item(item_id=f"i{n}", item_type="custom", text=f"Activity {n}.") for n in range(40)]
    out = tmp_path / "ratings.csv"
    with FakeOpenAIServer() as first, FakeOpenAIServer(salt="other") as second:
        raters = [
            RaterSpec(name="a", base_url=first.base_url, model="m", rubric="levels", batch_size=4),
            RaterSpec(name="b", base_url=second.base_url, model="m", rubric="levels@v1"),
        ]
        execute_run(
            items, raters, out=out, cache_dir=tmp_path / "c", environ={}, prompts_dir=levels_prompts
        )
        chat = next(r for r in first.requests if r.path.endswith("/chat/completions"))
        sent = chat.body["response_format"]["json_schema"]["schema"]
    enum = sent["properties"]["ratings"]["items"]["properties"]["label"]["enum"]
    assert enum == ["none", "all", "some"]
    ratings = ok_ratings(read_ratings(out))
    assert len(ratings) == 80 and set(ratings["label"]) == {"none", "some", "all"}
    assert set(ratings["prompt_name"]) == {"levels"}

    scale = build_scale(rubric=prompt.scale)
    assert scale.labels == ("none", "some", "all") and scale.codes == (0.0, 0.5, 1.0)
    assert build_scale(rubric=prompt.scale, coding="any").codes == (0.0, 1.0, 1.0)
    agreement = assess_agreement(ratings, scale)
    (pair,) = agreement.summary["pairs"]
    assert 0.0 < pair["percent_agreement"] < 1.0  # the salted server disagrees on some items

    config = build_label_config("blind", prompt.scale)
    for label, name in (("none", "not at all"), ("some", "partly"), ("all", "entirely")):
        assert f'value="{label}"' in config and name in config
    assert "E0" not in config and 'hotkey="3"' in config and 'hotkey="4"' not in config
