"""Splitting posting descriptions into duty lines: hand-written Chinese and English cases."""

from __future__ import annotations

import pytest

from dwa_rater.indices.duties import (
    clean_line,
    display_width,
    split_duties,
    split_many,
    split_sections,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Chinese numbered lists: 1、 1. 1． (1) （1） ① 一、
        (
            "1、负责公司产品的市场拓展；2、建立稳定的客户关系",
            ["负责公司产品的市场拓展", "建立稳定的客户关系"],
        ),
        ("1.编写数据分析报告\n2.维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        ("1．编写数据分析报告 2．维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        ("(1)编写数据分析报告(2)维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        ("（1）编写数据分析报告（2）维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        ("①编写数据分析报告②维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        ("一、编写数据分析报告\n二、维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        # Bullets: symbols anywhere, - * · at a line start.
        ("•编写数据分析报告•维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        (
            "- Prepare financial reports\n* Review budget plans",
            ["Prepare financial reports", "Review budget plans"],
        ),
        ("· 编写数据分析报告\n  · 维护数据仓库模型", ["编写数据分析报告", "维护数据仓库模型"]),
        # Chinese sentence punctuation.
        (
            "编写数据分析报告。维护数据仓库模型！跟进客户回款情况",
            ["编写数据分析报告", "维护数据仓库模型", "跟进客户回款情况"],
        ),
        # English sentences, not split after e.g. or inside Node.js / decimals.
        (
            "Prepare financial reports, e.g. monthly statements. Review budgets with managers.",
            ["Prepare financial reports, e.g. monthly statements", "Review budgets with managers"],
        ),
        (
            "Build services with Node.js and Python 3.11 daily.",
            ["Build services with Node.js and Python 3.11 daily"],
        ),
        (
            "Answer customer calls; record complaints in the CRM",
            ["Answer customer calls", "record complaints in the CRM"],
        ),
        # Numbers that are not list markers.
        ("负责3-5年规划的制定与执行，月薪1.5万元起", ["负责3-5年规划的制定与执行，月薪1.5万元起"]),
        ("制定数据模型的统一、规范的标准体系", ["制定数据模型的统一、规范的标准体系"]),
        ("工作时间8:30-17:30之间处理客户订单", ["工作时间8:30-17:30之间处理客户订单"]),
        # Parentheses inside a line survive; a dangling closing one is stripped.
        ("Prepare reports (monthly and quarterly).", ["Prepare reports (monthly and quarterly)"]),
    ],
)
def test_split_duties_cases(text: str, expected: list[str]) -> None:
    assert split_duties(text) == expected


def test_headings_split_sections_and_requirements_are_dropped_by_default() -> None:
    text = (
        "岗位职责：1、根据公司销售规划，负责产品的市场拓展；2、进行目标客户的开拓。"
        "任职要求：1、大学本科以上学历；2、有教育培训销售经验优先。"
    )
    assert split_duties(text) == ["根据公司销售规划，负责产品的市场拓展", "进行目标客户的开拓"]
    kept = split_duties(text, drop_requirements=False)
    assert kept[2:] == ["大学本科以上学历", "有教育培训销售经验优先"]


def test_numbered_section_headings_and_benefits() -> None:
    text = (
        "职位描述\n\n职位信息\n一、岗位职能：\n1、帮助分析师采集互联网相关数据；\n"
        "2、监控整理日常数据，提供分析报告；\n二、任职要求：\n1、全日制专科及以上学历；\n"
        "三、福利待遇：\n1、公司提供住宿以及餐补"
    )
    assert split_duties(text) == ["帮助分析师采集互联网相关数据", "监控整理日常数据，提供分析报告"]
    everything = split_duties(text, drop_requirements=False, drop_other_sections=False)
    assert everything[-2:] == ["全日制专科及以上学历", "公司提供住宿以及餐补"]


def test_english_headings_any_common_case() -> None:
    text = (
        "About us:\nWe are a fast-growing fintech company\n"
        "RESPONSIBILITIES\n- Prepare monthly financial reports\n- Reconcile bank accounts\n"
        "Requirements:\n- Bachelor's degree in accounting\nBenefits: free lunch and gym"
    )
    assert split_duties(text) == ["Prepare monthly financial reports", "Reconcile bank accounts"]


def test_text_before_headings_is_kept_only_without_a_duty_section() -> None:
    assert split_duties("负责客户关系维护\n任职要求：本科学历以上") == ["负责客户关系维护"]
    with_duties = "我们是一家快速发展的互联网公司\n岗位职责：负责客户关系维护"
    assert split_duties(with_duties) == ["负责客户关系维护"]


def test_heading_needs_a_boundary_before_it() -> None:
    # 要求 inside a sentence is not a heading; the whole line is a duty.
    assert split_duties("按照客户要求：完成产品的安装调试") == ["按照客户要求：完成产品的安装调试"]


def test_heading_followed_directly_by_a_list() -> None:
    assert split_duties("工作内容1、负责门店日常运营管理2、完成销售目标任务") == [
        "负责门店日常运营管理",
        "完成销售目标任务",
    ]


def test_short_fragments_bare_headings_and_duplicates_are_dropped() -> None:
    text = "五险一金\n沟通能力强\n负责客户关系维护\n负责客户关系维护\n---\n1234567890"
    # 五险一金 is 8 columns wide, under the default 10; 沟通能力强 is 10; digits are no words.
    assert split_duties(text) == ["沟通能力强", "负责客户关系维护"]
    assert split_duties(text, min_width=12) == ["负责客户关系维护"]


def test_empty_inputs() -> None:
    assert split_duties("") == []
    assert split_duties("   \n ") == []
    assert split_duties(None) == []
    assert split_duties(float("nan")) == []  # type: ignore[arg-type]


def test_whitespace_is_normalised() -> None:
    assert split_duties("Prepare   monthly\tfinancial reports\u3000now") == [
        "Prepare monthly financial reports now"
    ]


def test_display_width_counts_cjk_twice() -> None:
    assert display_width("abc") == 3
    assert display_width("数据") == 4
    assert display_width("SQL编写") == 7
    assert display_width("（ETL）") == 7  # full-width brackets are wide


def test_clean_line_strips_markers_and_punctuation() -> None:
    assert clean_line(" 1) Review budgets; ") == "1) Review budgets"
    assert clean_line("）负责客户开发。") == "负责客户开发"
    assert clean_line("- Build dashboards (Tableau).") == "Build dashboards (Tableau)"


def test_split_sections_kinds() -> None:
    sections = split_sections("公司介绍：一家公司\n岗位职责：做事\n任职要求：本科\n福利：双休")
    assert [kind for kind, _ in sections] == ["other", "duties", "requirements", "other"]
    assert sections[1][1].strip() == "做事"


def test_split_many_matches_split_duties_and_reuses_results() -> None:
    texts = ["1、负责客户关系维护；2、完成销售目标", None, "1、负责客户关系维护；2、完成销售目标"]
    out = split_many(texts)
    assert out == [split_duties(texts[0]), [], split_duties(texts[0])]
    assert out[0] is out[2]
