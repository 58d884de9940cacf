"""The review screen: wording (en/zh), labelling config, linked O*NET context, task data.

dwa_rater.review.wording, dwa_rater.review.context and dwa_rater.review.labeling; no server.
"""

from __future__ import annotations

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
    build_label_config,
    guidelines_version,
    instructions_html,
)
from dwa_rater.review.tasks import ReviewItem, build_task, context_html
from dwa_rater.review.wording import DEFAULT_WORDING_DIR, review_rubric, text
from dwa_rater.rubric import parse_scale

REPO = Path(__file__).resolve().parents[1]


def test_labels_come_from_the_manifest_in_both_languages() -> None:
    rubric = review_rubric()
    assert rubric.codes == ("E0", "E1", "E2")
    assert [label.hotkey for label in rubric.labels] == ["1", "2", "3"]
    assert [c.hotkey for c in rubric.confidence] == ["s", "n"]
    for label in rubric.labels:
        assert label.definition.en and label.definition.zh
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in label.definition.en)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label.definition.zh)
    assert rubric.labels[0].name("zh+en") == "无暴露 / no exposure"
    assert text(rubric.score, "zh").startswith("0 到 1")
    assert rubric.phrase("more_tasks", "en", n=7) == "and 7 more"
    assert rubric.phrase("more_tasks", "zh", n=7) == "另有 7 条"
    keys = rubric.keys_of(["1", "2", "3"])
    assert rubric.phrase("label_header", "zh+en", keys=keys) == (
        "暴露标签（按键 1、2、3） / Exposure label (keys 1, 2, 3)"
    )
    assert rubric.phrase("label_required", "en", labels=rubric.label_list()) == (
        "Choose E0, E1 or E2."
    )
    assert {t.en for t in rubric.terms} >= {"exposure", "E2 exposure with LLM-based software"}
    with pytest.raises(ConfigError, match="unknown language"):
        rubric.phrase("activity", "fr")  # type: ignore[arg-type]


def test_another_rubric_without_chinese_falls_back_to_english_and_wording_is_checked(
    tmp_path: Path,
) -> None:
    scale = parse_scale(
        {"labels": ["none", "some"], "codings": {"x": {"none": 0, "some": 1}},
         "names": {"none": "not at all"}, "definitions": {"some": "An LLM does part of it."}},
        "levels/v1/manifest.toml",
    )  # fmt: skip
    rubric = review_rubric(scale)
    assert rubric.labels[0].name("zh+en") == "not at all"  # no Chinese: the English only
    assert rubric.labels[1].definition("zh") == "An LLM does part of it."
    config = build_label_config("blind", scale, lang="zh")
    assert "E0" not in config and 'hotkey="2"' in config and 'hotkey="3"' not in config
    assert "请选择 none 或 some。" in config
    wording = (DEFAULT_WORDING_DIR / "exposure-v1.toml").read_text(encoding="utf-8")
    (tmp_path / "digits.toml").write_text(wording.replace('hotkey = "s"', 'hotkey = "4"'))
    with pytest.raises(ConfigError, match="distinct letters"):
        review_rubric(scale, tmp_path / "digits.toml")
    (tmp_path / "half.toml").write_text(wording.replace('zh = "确定"\n', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="needs both 'en' and 'zh'"):
        review_rubric(scale, tmp_path / "half.toml")
    with pytest.raises(ConfigError, match="no review wording file"):
        review_rubric(scale, tmp_path / "missing.toml")


@pytest.mark.parametrize("lang", ["en", "zh", "zh+en"])
def test_config_shows_definitions_beside_choices_in_the_language(lang: str) -> None:
    rubric = review_rubric()
    root = ET.fromstring(build_label_config("blind", lang=lang))  # type: ignore[arg-type]
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


def test_guidelines_version_follows_what_annotators_read(tmp_path: Path) -> None:
    before = guidelines_version()
    assert before.startswith("review-") and before == guidelines_version(review_rubric())
    edited = tmp_path / "w.toml"
    wording = (DEFAULT_WORDING_DIR / "exposure-v1.toml").read_text(encoding="utf-8")
    edited.write_text(wording + "\n# edited\n", encoding="utf-8")
    assert guidelines_version(review_rubric(None, edited)) != before
