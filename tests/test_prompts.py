"""Rubric loading, strict rendering and fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwa_rater.errors import PromptError
from dwa_rater.prompts import (
    DEFAULT_PROMPTS_DIR,
    list_prompts,
    load_prompt,
    parse_rubric_spec,
    render_user_message,
)
from dwa_rater.schemas import Item

#: Shipped versions are never edited in place: a changed hash means a new version is needed.
SHIPPED = {
    ("exposure", "v1"): "e2399cdca28edca97677e77395bd877ddc6772cb5baa30b7157665f1dab2952d",
    ("exposure-anchored", "v1"): "bc19e7af1a10b4de7f505dd03ba38d9e702c0a6b7611504b17390b81cc73804f",
    ("ilo", "v1"): "c746c585656b419b6d32f5a9e4fd39d21125560faf3344629fc67463a74bec0d",
    ("impact", "v1"): "0bbbd188dd9aa0cab24d574e95afb298b709bb432a612d916e8d06a5f4841788",
    ("crosswalk-choice", "v1"): "52fcec4dbda98cc9f67da0980d71d1ff7a54e59c2e90489a939d9b7665aac099",
    ("line-choice", "v1"): "a3fe4b27b2283a9c429b8716a44145a3d28f3b881f05ed0509e620904f7dab93",
}


def test_impact_rubric_asks_the_report_question_with_anchors() -> None:
    prompt = load_prompt("impact")
    assert prompt.output.kind == "score" and prompt.scale is None
    assert "degree to which a large language model (LLM) affects" in prompt.system
    for anchor in ("- 0.0:", "- 0.25:", "- 0.5:", "- 0.75:", "- 1.0:"):
        assert anchor in prompt.system


@pytest.mark.parametrize(("name", "version"), sorted(SHIPPED))
def test_shipped_prompts_are_unchanged(name: str, version: str) -> None:
    assert load_prompt(name, version).sha256 == SHIPPED[(name, version)]


def test_every_shipped_version_is_pinned() -> None:
    assert set(list_prompts(DEFAULT_PROMPTS_DIR)) == set(SHIPPED)


def test_latest_version_is_default() -> None:
    assert load_prompt("exposure").version == "v1"


def test_items_come_last_and_on_one_line_each() -> None:
    prompt = load_prompt("exposure")
    items = [
        ("1", Item(item_id="a", item_type="custom", text="Prepare\nreports.", context="IWA: x")),
        ("2", Item(item_id="b", item_type="custom", text="编制财务报告")),
    ]
    message = render_user_message(prompt, items)
    assert message.rstrip().endswith("[2] 编制财务报告")
    assert "[1] Prepare reports. (context: IWA: x)" in message
    assert "2 work activities" in message


SCALE = """
[scale]
labels = ["lo", "hi"]
[scale.codings.step]
lo = 0.0
hi = 1.0
"""


def make_prompt(root: Path, user: str, system: str = "Rubric.", output: str = "exposure") -> None:
    folder = root / "demo" / "v1"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        f'name = "demo"\nversion = "v1"\noutput = "{output}"\n' + SCALE, encoding="utf-8"
    )
    (folder / "system.md").write_text(system, encoding="utf-8")
    (folder / "user.md").write_text(user, encoding="utf-8")


def test_missing_variable_is_an_error(tmp_path: Path) -> None:
    make_prompt(tmp_path, "{{ items }} {{ occupation }}")
    prompt = load_prompt("demo", prompts_dir=tmp_path)
    with pytest.raises(PromptError, match="occupation"):
        render_user_message(prompt, [("1", Item(item_id="a", item_type="custom", text="t"))])


def test_system_prompt_with_variable_is_an_error(tmp_path: Path) -> None:
    make_prompt(tmp_path, "{{ items }}", system="Rate for {{ country }}.")
    with pytest.raises(PromptError, match="country"):
        load_prompt("demo", prompts_dir=tmp_path)


def test_unknown_rubric_and_version(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="unknown rubric 'nope'"):
        load_prompt("nope")
    with pytest.raises(PromptError, match="unknown version 'v9'"):
        load_prompt("exposure", "v9")
    make_prompt(tmp_path, "{{ items }}", output="essay")
    with pytest.raises(PromptError, match="output"):
        load_prompt("demo", prompts_dir=tmp_path)


def test_hash_changes_with_the_user_template(tmp_path: Path) -> None:
    make_prompt(tmp_path / "a", "{{ items }}")
    make_prompt(tmp_path / "b", "Items:\n{{ items }}")
    assert (
        load_prompt("demo", prompts_dir=tmp_path / "a").sha256
        != load_prompt("demo", prompts_dir=tmp_path / "b").sha256
    )


def test_rubric_spec_forms() -> None:
    assert parse_rubric_spec("exposure") == ("exposure", None)
    assert parse_rubric_spec("ilo@v1") == ("ilo", "v1")
    assert parse_rubric_spec("ilo/v1") == ("ilo", "v1")
