"""Duty, requirement, benefit and boilerplate lines (lines written for the test)."""

from __future__ import annotations

import pytest

from dwa_rater.indices.duties import split_duties
from dwa_rater.indices.line_kinds import line_kind


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("负责客户订单的录入与跟踪", "duty"),
        ("参与数据仓库的设计和开发", "duty"),
        ("负责员工社保和公积金的办理", "duty"),  # a benefit word inside a duty
        ("工作时间内处理客户投诉", "duty"),
        ("每月汇总销售数据并形成报告", "duty"),  # no opener, no cue: a duty
        ("本科及以上学历，统计学相关专业", "requirement"),
        ("熟悉Python和SQL，有数据分析经验者优先", "requirement"),
        ("具有良好的沟通能力和团队合作精神", "requirement"),
        ("五险一金，周末双休，带薪年假", "benefit"),
        ("节日福利、年度旅游和团建活动", "benefit"),
        ("欢迎有志之士加入我们的大家庭", "boilerplate"),
        ("公司成立于2010年，总部位于北京", "boilerplate"),
        ("Process insurance claims and verify benefits", "duty"),  # English: never filtered
        ("Bachelor's degree in statistics preferred", "duty"),
    ],
)
def test_line_kind(line: str, kind: str) -> None:
    assert line_kind(line) == kind


def test_split_duties_drops_non_duty_lines_under_a_duties_heading() -> None:
    text = "岗位职责：1、负责销售数据的统计分析；2、本科及以上学历；3、五险一金，周末双休"
    assert split_duties(text) == ["负责销售数据的统计分析"]
    kept = split_duties(text, drop_non_duty_lines=False)
    assert kept == ["负责销售数据的统计分析", "本科及以上学历", "五险一金，周末双休"]
    assert split_duties(text, drop_requirements=False) == kept
