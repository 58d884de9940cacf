"""Tell duty lines from the other lines that real postings put under a duties heading.

Chinese postings often list requirements (熟悉Python, 本科及以上学历, ...优先), benefits
(五险一金, 周末双休) and company boilerplate (公司成立于…, 欢迎加入) among their duties, with
no heading between them. The embedding matcher cannot reject all of them by similarity without
also rejecting many real duties, so lines are classified first, by rules:

0. a line without a Chinese character is a ``duty`` (English task statements use words such as
   "insurance" or "skills" in duties; English postings keep their section headings);
1. a line that starts with a duty verb (负责, 参与, 协助, 完成, 制定, 开发, ...) is a ``duty``,
   whatever else it mentions (负责员工社保办理 is a duty, not a benefit);
2. otherwise a line with a requirement cue (学历, 专业, 经验, 熟悉, 熟练, 精通, 掌握, 具备,
   具有, 能力, 优先, 责任心, 年以上, ...) is a ``requirement``;
3. a line that names a duty verb anywhere (处理, 完成, 开发, 分析, ...) is a ``duty`` even with
   a benefit or boilerplate cue (工作时间8:30-17:30之间处理客户订单); otherwise a benefit cue
   (五险一金, 双休, 带薪, 年假, 奖金, 补贴, 福利, 团建, 旅游, 晋升, ...) makes it a
   ``benefit`` and a boilerplate cue (公司, 集团, 我们, 欢迎, 加入, 成立, 总部, 使命, 愿景,
   电话, 微信, 简历, ...) a ``boilerplate`` line;
4. anything else is a ``duty``.

The rules are deliberately conservative on step 1, and were written from 2019 postings in
``postings_cn/`` (see the README's evaluation set).
"""

from __future__ import annotations

import re
from typing import Literal

LineKind = Literal["duty", "requirement", "benefit", "boilerplate"]

#: Verbs that open a duty line (Chinese postings, then common English imperatives).
DUTY_OPENERS: tuple[str, ...] = (
    "负责", "参与", "协助", "完成", "制定", "建立", "搭建", "构建", "开发",
    "设计", "维护", "管理", "组织", "开展", "推动", "推进", "跟进", "对接",
    "撰写", "编写", "编制", "起草", "整理", "收集", "采集", "分析", "挖掘",
    "研究", "调研", "监控", "监测", "处理", "解决", "优化", "改进", "规划",
    "策划", "执行", "实施", "落实", "配合", "支持", "指导", "带领", "培训",
    "辅导", "拓展", "开拓", "维系", "接待", "陪同", "办理", "审核", "核对",
    "统计", "汇总", "提供", "根据", "通过", "结合", "针对", "定期", "及时",
    "深入", "主导", "主持", "牵头", "运用", "利用", "使用", "基于", "从事",
    "承担", "带队", "评估", "测试", "部署", "上线", "运营", "推广", "销售",
    "联系", "沟通", "协调", "挖掘", "建设", "完善", "输出", "制作",
    "讲授", "授课", "与", "和", "将", "开展", "进行",
    "做好",
)  # fmt: skip
REQUIREMENT_CUES: tuple[str, ...] = (
    "学历", "本科", "大专", "专科", "硕士", "博士", "研究生", "毕业", "专业",
    "经验", "熟悉", "熟练", "精通", "掌握", "了解一定", "具备", "具有", "能力",
    "优先", "责任心", "年以上", "年及以上", "以上工作", "性格", "品行", "品质", "为人",
    "吃苦耐劳", "抗压", "承受", "积极主动", "踏实", "年龄", "身体健康", "形象", "气质",
    "证书", "资格证", "英语", "CET", "思维", "逻辑", "善于", "乐于", "热爱",
    "喜欢", "擅长", "态度", "敬业", "诚信", "团队合作", "团队精神", "自驱", "良好的",
    "较强的", "扎实", "背景", "涉猎", "敏感", "使用过", "至少", "加分",
)  # fmt: skip
BENEFIT_CUES: tuple[str, ...] = (
    "五险", "一金", "社保", "公积金", "双休", "单休", "带薪", "年假", "假期",
    "节假日", "奖金", "年终", "补贴", "补助", "餐补", "福利", "团建", "旅游",
    "体检", "包吃", "包住", "住宿", "宿舍", "下午茶", "薪资", "薪酬", "底薪",
    "提成", "佣金", "工资", "月薪", "年薪", "晋升", "发展空间", "培训体系", "工作时间",
    "上班时间", "休息", "弹性", "环境", "氛围",
)  # fmt: skip
BOILERPLATE_CUES: tuple[str, ...] = (
    "公司", "集团", "企业", "我们", "欢迎", "加入", "成立", "总部", "门店",
    "员工", "使命", "愿景", "理念", "品牌", "电话", "微信", "联系", "简历",
    "投递", "地址", "梦想", "巅峰", "你渴望", "你将", "大咖",
)  # fmt: skip

_OPENER = re.compile(
    r"^(?:(?:主要|日常|具体)?(?:工作)?(?:职责|内容)?[：:]?\s*)?(?:"
    + "|".join(re.escape(v) for v in sorted(DUTY_OPENERS, key=len, reverse=True))
    + ")",
)


#: Verbs that make a line a duty even when it mentions a benefit or the company
#: (工作时间8:30-17:30之间处理客户订单 is a duty).
DUTY_VERBS: tuple[str, ...] = (
    "负责", "处理", "完成", "开发", "维护", "分析", "撰写", "编写", "制定",
    "设计", "办理", "跟进", "对接", "整理", "统计", "协助", "参与", "研究",
)  # fmt: skip

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _has(line: str, cues: tuple[str, ...]) -> bool:
    folded = line.casefold()
    return any(cue.casefold() in folded for cue in cues)


def line_kind(line: str) -> LineKind:
    """The kind of one line (see the module docstring for the rules)."""
    text = line.strip()
    if not _CJK.search(text) or _OPENER.match(text):
        return "duty"
    if _has(text, REQUIREMENT_CUES):
        return "requirement"
    if _has(text, DUTY_VERBS):
        return "duty"
    if _has(text, BENEFIT_CUES):
        return "benefit"
    if _has(text, BOILERPLATE_CUES):
        return "boilerplate"
    return "duty"


def is_duty_line(line: str) -> bool:
    """True when :func:`line_kind` says ``duty``."""
    return line_kind(line) == "duty"
