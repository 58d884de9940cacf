"""The review screen: rubric texts (en/zh), labelling config, linked O*NET context, task data.

dwa_rater.review.rubric, dwa_rater.review.context and dwa_rater.review.labeling; no server.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.review.context import (
    LinkedContext,
    Translation,
    linked_context,
    read_translations,
)
from dwa_rater.review.labeling import (
    MODEL_OUTPUT_KEYS,
    ReviewItem,
    build_label_config,
    build_task,
    context_html,
    guidelines_version,
    instructions_html,
)
from dwa_rater.review.rubric import DEFAULT_RUBRIC_DIR, load_review_rubric, text

REPO = Path(__file__).resolve().parents[1]


def test_rubric_has_both_languages_for_every_label_and_phrase() -> None:
    rubric = load_review_rubric()
    assert rubric.codes == ("E0", "E1", "E2")
    assert [label.hotkey for label in rubric.labels] == ["1", "2", "3"]
    for label in rubric.labels:
        assert label.definition.en and label.definition.zh
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in label.definition.en)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label.definition.zh)
    assert rubric.labels[0].name("zh+en") == "无暴露 / no exposure"
    assert text(rubric.score, "zh").startswith("0 到 1")
    assert rubric.phrase("more_tasks", "en", n=7) == "and 7 more"
    assert rubric.phrase("more_tasks", "zh", n=7) == "另有 7 条"
    assert {t.en for t in rubric.terms} >= {"exposure", "E2 exposure with LLM-based software"}
    with pytest.raises(ConfigError, match="unknown language"):
        rubric.phrase("activity", "fr")  # type: ignore[arg-type]


def test_rubric_must_match_the_prompt_manifest_and_be_complete(tmp_path: Path) -> None:
    rubric_dir = tmp_path / "rubric"
    shutil.copytree(DEFAULT_RUBRIC_DIR, rubric_dir)
    prompts = tmp_path / "prompts" / "exposure" / "v1"
    prompts.mkdir(parents=True)
    (prompts / "manifest.toml").write_text('labels = ["E0", "E1", "E2"]\n', encoding="utf-8")
    assert load_review_rubric("exposure", "v1", rubric_dir, tmp_path / "prompts").codes == (
        "E0",
        "E1",
        "E2",
    )
    (prompts / "manifest.toml").write_text(
        '[[labels]]\ncode = "E0"\n[[labels]]\ncode = "E1"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="differ from the prompt manifest"):
        load_review_rubric("exposure", "v1", rubric_dir, tmp_path / "prompts")
    broken = (rubric_dir / "exposure-v1.toml").read_text(encoding="utf-8")
    broken = broken.replace(
        'definition.zh = "仅靠大模型本身不能', 'definition.xx = "仅靠大模型本身不能'
    )
    (rubric_dir / "exposure-v2.toml").write_text(
        broken.replace('version = "v1"', 'version = "v2"'), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="needs both 'en' and 'zh'"):
        load_review_rubric("exposure", "v2", rubric_dir, tmp_path / "prompts")
    with pytest.raises(ConfigError, match="no reviewer rubric"):
        load_review_rubric("ilo", "v1", rubric_dir, tmp_path / "prompts")


@pytest.mark.parametrize("lang", ["en", "zh", "zh+en"])
def test_config_shows_definitions_beside_choices_in_the_language(lang: str) -> None:
    rubric = load_review_rubric()
    root = ET.fromstring(build_label_config("blind", lang))  # type: ignore[arg-type]
    choices = root.find(".//Choices[@name='label']")
    assert choices is not None
    for choice, label in zip(choices, rubric.labels, strict=True):
        shown = choice.get("html") or ""
        assert (label.definition.zh in shown) == (lang != "en")
        assert (label.definition.en in shown) == (lang != "zh")
    headers = [h.get("value") or "" for h in root.iter("Header")]
    assert any(h.startswith(rubric.phrase("activity", lang)) for h in headers)  # type: ignore[arg-type]
    assert any("0.5 = " in h for h in headers)  # the slider's anchors
    notice = instructions_html(lang)  # type: ignore[arg-type]
    assert (rubric.question.zh in notice) == (lang != "en")


def _tables() -> OnetTables:
    """DWA D1 linked to 12 tasks (one text shared by two occupations), D2 to none."""
    dwas = pd.DataFrame(
        {"dwa_id": ["D1", "D2"], "dwa_title": ["Do one.", "Do two."], "iwa_id": ["I", "I"],
         "iwa_title": ["IWA", "IWA"], "gwa_id": ["G", "G"], "gwa_title": ["GWA", "GWA"]}
    )  # fmt: skip
    rows = [("11-0000.00", f"T{i}", f"Task {i:02d}.", "Core" if i % 2 else "Supplemental")
            for i in range(1, 12)]  # fmt: skip
    rows.append(("22-0000.00", "T99", "Task 02.", "Core"))  # same text, another occupation
    tasks = pd.DataFrame(rows, columns=["onetsoc_code", "task_id", "task", "task_type"])
    task_dwas = tasks[["onetsoc_code", "task_id"]].assign(dwa_id="D1")
    occupations = pd.DataFrame(
        {"onetsoc_code": ["11-0000.00", "22-0000.00"], "title": ["Managers", "Clerks & <Co>"],
         "description": ["", ""]}
    )  # fmt: skip
    return OnetTables("test", dwas, tasks, task_dwas, occupations)


def test_linked_tasks_are_distinct_core_first_then_counted() -> None:
    found = linked_context(_tables(), ["D1", "D2"], limit=10)
    d1 = found["D1"]
    assert d1.n_tasks == 11  # 12 links, one text twice
    # Core first: "Task 02." is Core for the second occupation and shared by two of them.
    assert d1.tasks[:2] == ("Task 02.", "Task 01.")
    assert list(d1.tasks[2:6]) == ["Task 03.", "Task 05.", "Task 07.", "Task 09."]
    assert len(d1.tasks) == 10 and "Task 11." in d1.tasks
    assert d1.occupations == ("Managers", "Clerks & <Co>") and d1.n_occupations == 2
    assert found["D2"] == LinkedContext((), 0, (), 0)
    with pytest.raises(DataError, match="not in the O\\*NET DWA Reference"):
        linked_context(_tables(), ["D9"])


def test_context_lists_ten_then_a_count_and_escapes() -> None:
    d1 = linked_context(_tables(), ["D1"])["D1"]
    item = ReviewItem(
        "D1", "Do one.", "IWA", "GWA", d1.occupations, "audit", "", (),
        tasks=d1.tasks, n_tasks=d1.n_tasks, n_occupations=d1.n_occupations,
    )  # fmt: skip
    shown = context_html(item, "en")
    assert shown.count("<li>") == 10 + 2 and "and 1 more" in shown
    assert "(11)" in shown and "Clerks &amp; &lt;Co&gt;" in shown
    assert "另有 1 条" in context_html(item, "zh")


def test_tasks_carry_a_marked_translation_guidelines_and_no_model_output(tmp_path: Path) -> None:
    item = ReviewItem(
        "D1", "Do one.", "IWA", "GWA", (), "audit", "", (),
        translation="做一件事。", translation_source="machine translation (m)",
    )  # fmt: skip
    data = build_task(item, "blind", "zh")["data"]
    assert not MODEL_OUTPUT_KEYS & data.keys()
    assert data["statement"] == "Do one."  # the O*NET English stays
    assert (
        "机器翻译，仅供参考" in data["translation_html"]
        and "做一件事。" in data["translation_html"]
    )
    assert data["lang"] == "zh" and data["guidelines"] == guidelines_version()
    plain = build_task(ReviewItem("D1", "Do one.", "IWA", "GWA", (), "", "", ()), "blind")
    assert plain["data"]["translation_html"] == ""
    table = tmp_path / "translations.csv"
    table.write_text("item_id,translation,source\nD1,做一件事。,m\nD2,,m\n", encoding="utf-8")
    assert read_translations(table) == {"D1": Translation("做一件事。", "m")}
    (tmp_path / "bad.csv").write_text("id,text\n", encoding="utf-8")
    with pytest.raises(DataError, match="lacks column"):
        read_translations(tmp_path / "bad.csv")


def test_guidelines_version_follows_the_rubric_text(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_RUBRIC_DIR, tmp_path / "r")
    rubric = load_review_rubric("exposure", "v1", tmp_path / "r")
    before = guidelines_version(rubric)
    assert before.startswith("exposure@v1+") and before == guidelines_version()
    path = tmp_path / "r" / "exposure-v1.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert guidelines_version(rubric) != before
