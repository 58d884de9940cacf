"""Synthetic job postings whose duty lines are O*NET task statements of known DWAs.

They serve two purposes: measuring how well duty lines are mapped to DWAs (the truth table
lists each duty line's DWAs, from O*NET ``Tasks to DWAs``), and exercising every index at scale
(``scripts/bench_indices.py``). They are not a model of the Chinese labour market: categories,
cities and trends are only loosely shaped after the 2024 report so that the indices have
something to show.

- 13 occupation categories (the report's 职业大类), each tied to a handful of O*NET
  occupations (:data:`CATEGORY_OCCUPATIONS`; an illustrative assignment, not a crosswalk);
- cities from the report's top-30 list with four kinds of occupation mix (tech, manufacturing,
  sales and operations, balanced), years 2022-2024. By default every year is drawn from the
  same distributions (no built-in trend, so the indices cannot "confirm" the report by
  construction); ``SyntheticSpec(report_trends=True)`` (``--report-trends``) builds in the
  report's findings for demonstrations: posting shares drifting (sales and customer service
  down, software up), upskilling, AI title growth, salary and applicant growth;
- each posting has 3-8 duty lines (task statements of one occupation that the duty splitter
  returns unchanged, so the truth lines are exactly the split lines) and 1-4 distractor lines
  (benefits, company blurbs, requirements) in Chinese or English. 70% of descriptions have
  section headings (岗位职责 / Responsibilities, 任职要求, 福利待遇); the rest list every line
  under one heading or none, so distractors reach the mapper and must be rejected by its
  threshold;
- salary, education, experience, applicants and skills vary by category, city and year;
  some 软件/硬件研发 postings carry AI titles (自然语言处理工程师, 深度学习工程师, ...) whose
  share grows each year with ``report_trends``.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``spec.seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import DataError
from dwa_rater.indices.duties import split_duties
from dwa_rater.indices.postings import CITY_CODES, EDUCATION_LEVELS, validate_postings

#: The report's 13 occupation categories, each with O*NET-SOC occupations of similar work.
CATEGORY_OCCUPATIONS: Mapping[str, tuple[str, ...]] = {
    "编辑/翻译": ("27-3041.00", "27-3091.00", "27-3043.00", "27-3042.00"),
    "客服/运营": ("43-4051.00", "41-9041.00", "43-4171.00", "43-4181.00"),
    "销售/商务拓展": ("41-4012.00", "41-3091.00", "11-2022.00", "41-4011.00", "41-2031.00"),
    "金融/保险服务": ("13-2052.00", "41-3021.00", "13-2072.00", "43-3071.00", "13-2053.00"),
    "市场/品牌/公关": ("11-2021.00", "13-1161.00", "27-3031.00", "11-2032.00"),
    "软件/硬件研发": ("15-1252.00", "15-1211.00", "17-2061.00", "15-2051.00", "15-1221.00"),
    "运维/测试": ("15-1253.00", "15-1244.00", "15-1232.00"),
    "人事/行政/财务/法务": (
        "13-1071.00", "13-2011.00", "23-2011.00", "43-6014.00", "11-3121.00", "43-3031.00",
    ),
    "教育/培训/科研": ("25-2021.00", "13-1151.00", "25-2031.00", "25-1021.00", "15-2041.00"),
    "视觉/交互/设计": ("27-1024.00", "15-1255.00", "27-1021.00"),
    "生产制造": ("51-2092.00", "51-4041.00", "51-9061.00", "51-1011.00"),
    "物流/采购/供应链": ("53-7062.00", "13-1081.00", "13-1023.00", "53-7051.00", "43-5071.00"),
    "生活服务": ("35-2014.00", "37-2012.00", "39-5012.00", "35-3031.00"),
}  # fmt: skip

CATEGORY_TITLES: Mapping[str, tuple[str, ...]] = {
    "编辑/翻译": ("编辑", "英语翻译", "文案策划", "技术文档工程师"),
    "客服/运营": ("客服专员", "电话客服", "前台接待", "运营专员"),
    "销售/商务拓展": ("销售代表", "大客户经理", "销售经理", "商务拓展经理"),
    "金融/保险服务": ("理财顾问", "保险代理人", "信贷专员", "银行柜员"),
    "市场/品牌/公关": ("市场经理", "市场调研专员", "公关专员", "品牌经理"),
    "软件/硬件研发": ("Java开发工程师", "系统分析师", "硬件工程师", "数据科学家"),
    "运维/测试": ("测试工程师", "运维工程师", "IT技术支持"),
    "人事/行政/财务/法务": ("人事专员", "会计", "法务助理", "行政助理", "人力资源经理"),
    "教育/培训/科研": ("小学教师", "培训讲师", "高中教师", "研究员"),
    "视觉/交互/设计": ("平面设计师", "UI设计师", "工业设计师"),
    "生产制造": ("装配工", "数控机床操作工", "质检员", "生产主管"),
    "物流/采购/供应链": ("搬运工", "物流专员", "采购专员", "叉车司机", "仓管员"),
    "生活服务": ("厨师", "保洁员", "美发师", "服务员"),
}

#: AI job titles (a subset of 软件/硬件研发) and the report's H1 2024 posting growth (+x%).
AI_TITLES: Mapping[str, float] = {
    "自然语言处理工程师": 1.11,
    "机器人算法工程师": 0.76,
    "深度学习工程师": 0.61,
    "智能驾驶系统工程师": 0.49,
    "导航算法工程师": 0.47,
}
AI_SKILLS: tuple[str, ...] = (
    "Python", "PyTorch", "TensorFlow", "C/C++", "Java", "CNN", "BERT", "DNN", "RNN",
    "PaddlePaddle", "Transformer", "OpenCV",
)  # fmt: skip


@dataclass(frozen=True)
class CategoryProfile:
    """Market traits of a category: salary, requirements, applicants, skills, share trend."""

    salary: float  # median monthly CNY in the first year
    education: tuple[float, ...]  # probabilities over EDUCATION_LEVELS
    experience: tuple[float, ...]  # probabilities over EXPERIENCE_CHOICES
    applicants: float  # mean applications per posting
    skills: tuple[str, ...]
    trend: float  # yearly relative change of the category's posting weight
    upskilling: float  # yearly probability of raising education / experience one step


EXPERIENCE_CHOICES: tuple[str, ...] = (
    "经验不限",
    "1年以下",
    "1-3年",
    "3-5年",
    "5-10年",
    "10年以上",
)

_OFFICE = ("Excel", "Word", "PPT", "沟通能力", "英语")
PROFILES: Mapping[str, CategoryProfile] = {
    "编辑/翻译": CategoryProfile(
        9000,
        (0, 0, 0, 0.15, 0.7, 0.13, 0.02),
        (0.3, 0.1, 0.3, 0.2, 0.08, 0.02),
        30,
        ("英语", "CATTI", "Office", "写作", "新媒体", "SEO"),
        -0.01,
        0.04,
    ),
    "客服/运营": CategoryProfile(
        6500,
        (0.1, 0.1, 0.15, 0.45, 0.2, 0, 0),
        (0.45, 0.15, 0.25, 0.1, 0.05, 0),
        25,
        ("沟通能力", "CRM", "Excel", "普通话", "数据分析"),
        -0.08,
        0.05,
    ),
    "销售/商务拓展": CategoryProfile(
        9000,
        (0.1, 0.1, 0.15, 0.4, 0.25, 0, 0),
        (0.35, 0.1, 0.3, 0.15, 0.08, 0.02),
        15,
        ("销售", "谈判", "CRM", "客户开发", "英语"),
        -0.12,
        0.07,
    ),
    "金融/保险服务": CategoryProfile(
        10000,
        (0, 0.02, 0.05, 0.3, 0.55, 0.08, 0),
        (0.3, 0.1, 0.3, 0.2, 0.08, 0.02),
        20,
        ("金融", "CFA", "风控", "Excel", "证券从业资格"),
        -0.03,
        0.03,
    ),
    "市场/品牌/公关": CategoryProfile(
        11000,
        (0, 0, 0.02, 0.25, 0.63, 0.1, 0),
        (0.2, 0.1, 0.35, 0.23, 0.1, 0.02),
        22,
        ("市场营销", "品牌", "新媒体", "PPT", "数据分析"),
        -0.02,
        0.05,
    ),
    "软件/硬件研发": CategoryProfile(
        18000,
        (0, 0, 0, 0.12, 0.68, 0.18, 0.02),
        (0.1, 0.05, 0.3, 0.35, 0.17, 0.03),
        35,
        ("Java", "Python", "C/C++", "Linux", "MySQL", "Git", "Go", "Vue"),
        0.02,
        0.03,
    ),
    "运维/测试": CategoryProfile(
        12000,
        (0, 0, 0.02, 0.35, 0.58, 0.05, 0),
        (0.15, 0.05, 0.35, 0.3, 0.13, 0.02),
        30,
        ("Linux", "Shell", "自动化测试", "Python", "网络"),
        -0.02,
        0.02,
    ),
    "人事/行政/财务/法务": CategoryProfile(
        8500,
        (0, 0.02, 0.05, 0.35, 0.5, 0.08, 0),
        (0.3, 0.1, 0.3, 0.2, 0.08, 0.02),
        40,
        ("Excel", "人力资源", "会计", "法律", "招聘", "薪酬"),
        -0.03,
        0.03,
    ),
    "教育/培训/科研": CategoryProfile(
        9000,
        (0, 0, 0.02, 0.13, 0.6, 0.2, 0.05),
        (0.35, 0.1, 0.3, 0.15, 0.08, 0.02),
        28,
        ("教师资格证", "普通话", "课程设计", "科研", "英语"),
        0.01,
        0.02,
    ),
    "视觉/交互/设计": CategoryProfile(
        11000,
        (0, 0, 0.05, 0.45, 0.45, 0.05, 0),
        (0.2, 0.1, 0.35, 0.25, 0.08, 0.02),
        32,
        ("Photoshop", "Figma", "Illustrator", "C4D", "Sketch"),
        0.0,
        0.02,
    ),
    "生产制造": CategoryProfile(
        6500,
        (0.3, 0.25, 0.3, 0.12, 0.03, 0, 0),
        (0.45, 0.15, 0.25, 0.1, 0.05, 0),
        8,
        ("数控", "质检", "CAD", "焊接", "设备维护"),
        0.03,
        0.01,
    ),
    "物流/采购/供应链": CategoryProfile(
        7000,
        (0.3, 0.25, 0.2, 0.2, 0.05, 0, 0),
        (0.45, 0.15, 0.25, 0.1, 0.05, 0),
        10,
        ("叉车证", "ERP", "仓储管理", "采购", "Excel"),
        0.02,
        0.01,
    ),
    "生活服务": CategoryProfile(
        5500,
        (0.5, 0.25, 0.2, 0.05, 0, 0, 0),
        (0.6, 0.15, 0.15, 0.07, 0.03, 0),
        6,
        ("厨师证", "健康证", "服务意识", "美发", "普通话"),
        0.04,
        0.01,
    ),
}

#: City -> (kind of occupation mix, salary factor). Names are in the report's top-30 list.
CITIES: Mapping[str, tuple[str, float]] = {
    "北京": ("tech", 1.35), "上海": ("tech", 1.35), "深圳": ("tech", 1.3), "杭州": ("tech", 1.2),
    "广州": ("balanced", 1.15), "南京": ("balanced", 1.1), "天津": ("balanced", 1.0),
    "重庆": ("balanced", 0.95), "合肥": ("balanced", 0.95), "苏州": ("manufacturing", 1.1),
    "东莞": ("manufacturing", 1.0), "无锡": ("manufacturing", 1.0), "宁波": ("manufacturing", 1.0),
    "成都": ("sales_ops", 1.0), "郑州": ("sales_ops", 0.9), "西安": ("sales_ops", 0.9),
    "武汉": ("sales_ops", 1.0), "长沙": ("sales_ops", 0.95),
}  # fmt: skip
MIX_FACTORS: Mapping[str, Mapping[str, float]] = {
    "tech": {
        "软件/硬件研发": 3.0,
        "运维/测试": 2.0,
        "金融/保险服务": 1.5,
        "编辑/翻译": 1.5,
        "市场/品牌/公关": 1.5,
        "视觉/交互/设计": 1.5,
        "生产制造": 0.3,
    },
    "manufacturing": {
        "生产制造": 4.0,
        "物流/采购/供应链": 2.0,
        "软件/硬件研发": 0.7,
        "编辑/翻译": 0.5,
    },
    "sales_ops": {"销售/商务拓展": 2.5, "客服/运营": 2.5, "生活服务": 1.3, "生产制造": 0.7},
    "balanced": {},
}
BASE_WEIGHTS: Mapping[str, float] = {
    "编辑/翻译": 2, "客服/运营": 10, "销售/商务拓展": 18, "金融/保险服务": 6, "市场/品牌/公关": 6,
    "软件/硬件研发": 10, "运维/测试": 4, "人事/行政/财务/法务": 10, "教育/培训/科研": 6,
    "视觉/交互/设计": 4, "生产制造": 12, "物流/采购/供应链": 7, "生活服务": 9,
}  # fmt: skip

BENEFITS: tuple[str, ...] = (
    "五险一金，带薪年假",
    "周末双休，法定节假日正常休息",
    "年底双薪及绩效奖金",
    "提供免费午餐和员工宿舍",
    "定期组织团建活动和员工旅游",
    "完善的晋升通道和培训体系",
    "节日福利、生日礼金、高温补贴",
    "Competitive salary and annual bonus",
    "Five social insurances and housing fund",
    "Flexible working hours and paid annual leave",
    "Free lunch and team building activities",
)
BLURBS: tuple[str, ...] = (
    "我们是一家快速发展的互联网科技公司，致力于为客户提供优质服务",
    "公司成立于2008年，总部位于上海，员工超过2000人",
    "欢迎有梦想、有激情的你加入我们的大家庭",
    "我们不在乎你之前如何谋生，只想知道你有何渴望",
    "We are a fast-growing company with offices in ten cities",
    "Join a friendly team that values openness and learning",
)
REQUIREMENTS: tuple[str, ...] = (
    "本科及以上学历，计算机相关专业优先",
    "三年以上相关工作经验",
    "具备良好的沟通能力和团队合作精神",
    "能够承受一定的工作压力，责任心强",
    "熟练使用Office办公软件",
    "英语读写能力良好，能阅读英文文档",
    "Bachelor's degree in a related field",
    "At least three years of relevant experience",
    "Strong communication skills and a team player",
    "Fluent in English and Mandarin",
)


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate (see the module doc)."""

    n_postings: int = 3000
    years: tuple[int, ...] = (2022, 2023, 2024)
    cities: tuple[str, ...] = tuple(CITIES)
    duty_lines: tuple[int, int] = (3, 8)
    distractor_lines: tuple[int, int] = (1, 4)
    headed_share: float = 0.7
    seed: int = 0
    #: Off (default): every year is drawn from the same distributions, so no index "finds" a
    #: trend by construction. On: the report's findings are built in (posting shares drifting,
    #: upskilling, AI title growth, salary and applicant growth), for demonstrations only.
    report_trends: bool = False
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: CATEGORY_OCCUPATIONS)


@dataclass(frozen=True)
class SyntheticPostings:
    """Postings in the schema of :mod:`dwa_rater.indices.postings` and their truth table
    (posting_id, line, dwa_id: one row per true DWA of each duty line)."""

    postings: pd.DataFrame
    truth: pd.DataFrame


def usable_tasks(tables: OnetTables, occupations: Sequence[str]) -> pd.DataFrame:
    """onetsoc_code, task_id, task, line: tasks with DWAs that split into exactly one line.

    ``line`` is the task as the duty splitter returns it (trailing full stop removed).
    """
    linked = tables.task_dwas[tables.task_dwas["onetsoc_code"].isin(occupations)]
    tasks = tables.tasks[tables.tasks["task_id"].isin(set(linked["task_id"]))]
    tasks = tasks[tasks["onetsoc_code"].isin(occupations)].copy()
    split = tasks["task"].map(split_duties)
    tasks = tasks[split.map(len) == 1].copy()
    tasks["line"] = split[split.map(len) == 1].map(lambda lines: lines[0])
    return tasks[["onetsoc_code", "task_id", "task", "line"]].reset_index(drop=True)


def _category_weights(spec: SyntheticSpec, city: str, year: int) -> np.ndarray:
    kind = CITIES.get(city, ("balanced", 1.0))[0]
    factors = MIX_FACTORS[kind]
    step = (year - spec.years[0]) if spec.report_trends else 0
    weights = np.array(
        [
            BASE_WEIGHTS.get(c, 5) * factors.get(c, 1.0) * (1 + PROFILES[c].trend) ** step
            if c in PROFILES
            else 5.0
            for c in spec.categories
        ]
    )
    return weights / weights.sum()


def _bump(
    levels: np.ndarray, probability: np.ndarray, top: int, rng: np.random.Generator
) -> np.ndarray:
    raise_it = rng.random(len(levels)) < probability
    return np.where(raise_it, np.minimum(levels + 1, top), levels)


def make_synthetic_postings(
    tables: OnetTables, spec: SyntheticSpec = SyntheticSpec(), with_truth: bool = True
) -> SyntheticPostings:
    """Generate postings and their truth (skipped when ``with_truth`` is False, for speed)."""
    rng = np.random.default_rng(spec.seed)
    unknown = [c for c in spec.cities if c not in CITY_CODES]
    if unknown:
        raise DataError(f"no city code for {', '.join(unknown)}")
    categories = list(spec.categories)
    occupations = sorted({o for codes in spec.categories.values() for o in codes})
    tasks = usable_tasks(tables, occupations)
    pools = {code: rows for code, rows in tasks.groupby("onetsoc_code")}
    missing = [o for o in occupations if o not in pools]
    if missing:
        raise DataError(
            f"O*NET release has no usable tasks for {', '.join(missing)}; "
            "edit the category-occupation table"
        )
    dwas_of_task = tables.task_dwas.groupby("task_id")["dwa_id"].apply(list)

    n = spec.n_postings
    city = rng.choice(np.array(spec.cities, dtype=object), size=n)
    growth = 0.1 if spec.report_trends else 0.0
    year_weights = np.linspace(1.0, 1.0 + growth * (len(spec.years) - 1), len(spec.years))
    year = rng.choice(np.array(spec.years), size=n, p=year_weights / year_weights.sum())
    category_index = np.empty(n, dtype=np.int64)
    for c in spec.cities:
        for y in spec.years:
            where = np.flatnonzero((city == c) & (year == y))
            if len(where):
                probabilities = _category_weights(spec, c, int(y))
                category_index[where] = rng.choice(
                    len(categories), size=len(where), p=probabilities
                )
    category = np.array(categories, dtype=object)[category_index]

    occupation = np.empty(n, dtype=object)
    for i, c in enumerate(categories):
        where = np.flatnonzero(category_index == i)
        occupation[where] = rng.choice(np.array(spec.categories[c], dtype=object), size=len(where))

    low, high = spec.duty_lines
    n_duties = rng.integers(low, high + 1, size=n)
    duty_lines: list[list[str]] = [[] for _ in range(n)]
    truth_rows: list[tuple[int, str, str]] = []
    for code, pool in pools.items():
        where = np.flatnonzero(occupation == code)
        if not len(where):
            continue
        lines = pool["task"].to_numpy()
        split_lines = pool["line"].to_numpy()
        task_ids = pool["task_id"].to_numpy()
        order = rng.random((len(where), len(pool))).argsort(axis=1)
        for row, posting in enumerate(where):
            chosen = order[row, : min(n_duties[posting], len(pool))]
            duty_lines[posting] = list(lines[chosen])
            if with_truth:
                for task in chosen:
                    for dwa_id in dwas_of_task[task_ids[task]]:
                        truth_rows.append((posting, split_lines[task], dwa_id))

    distractors = np.array(BENEFITS + BLURBS + REQUIREMENTS, dtype=object)
    kinds = np.array(
        ["benefit"] * len(BENEFITS) + ["blurb"] * len(BLURBS) + ["requirement"] * len(REQUIREMENTS)
    )
    d_low, d_high = spec.distractor_lines
    n_distractors = rng.integers(d_low, d_high + 1, size=n)
    distractor_choice = rng.integers(0, len(distractors), size=(n, d_high))
    headed = rng.random(n) < spec.headed_share
    chinese_heading = rng.random(n) < 0.5
    numbered = rng.random(n) < 0.6
    descriptions = [
        _describe(
            duty_lines[i],
            list(distractors[distractor_choice[i, : n_distractors[i]]]),
            list(kinds[distractor_choice[i, : n_distractors[i]]]),
            bool(headed[i]),
            bool(chinese_heading[i]),
            bool(numbered[i]),
        )
        for i in range(n)
    ]

    profiles = [PROFILES.get(c) for c in categories]
    step = (year - spec.years[0]) if spec.report_trends else np.zeros_like(year)
    city_factor = {c: CITIES.get(c, ("balanced", 1.0))[1] for c in spec.cities}
    salary_factor = pd.Series(city).map(city_factor).to_numpy(dtype=float)
    base = np.array([p.salary if p else 8000.0 for p in profiles])[category_index]
    midpoint = base * salary_factor * 1.03**step * rng.lognormal(0.0, 0.25, size=n)
    salary_min = np.round(midpoint * 0.8, -2)
    salary_max = np.round(midpoint * 1.25, -2)

    education = np.empty(n, dtype=np.int64)
    experience = np.empty(n, dtype=np.int64)
    applicants = np.empty(n, dtype=np.int64)
    upskilling = np.array([p.upskilling if p else 0.0 for p in profiles])[category_index] * step
    for i, p in enumerate(profiles):
        where = np.flatnonzero(category_index == i)
        if not len(where) or p is None:
            continue
        education[where] = rng.choice(
            len(EDUCATION_LEVELS), size=len(where), p=_normalised(p.education)
        )
        experience[where] = rng.choice(
            len(EXPERIENCE_CHOICES), size=len(where), p=_normalised(p.experience)
        )
        attraction = p.applicants * (1 + 0.04 * step[where])
        applicants[where] = rng.poisson(attraction)
    education = _bump(education, upskilling, len(EDUCATION_LEVELS) - 1, rng)
    experience = _bump(experience, upskilling, len(EXPERIENCE_CHOICES) - 1, rng)
    education_text = np.array(
        ["不限", "高中", "中专", "大专", "本科", "硕士", "博士"], dtype=object
    )[education]

    titles = np.empty(n, dtype=object)
    skills = np.empty(n, dtype=object)
    for i, c in enumerate(categories):
        where = np.flatnonzero(category_index == i)
        names = CATEGORY_TITLES.get(c, (c,))
        titles[where] = rng.choice(np.array(names, dtype=object), size=len(where))
        pool = np.array(PROFILES[c].skills if c in PROFILES else _OFFICE, dtype=object)
        picks = rng.random((len(where), len(pool))).argsort(axis=1)
        counts = rng.integers(2, min(5, len(pool)) + 1, size=len(where))
        skills[where] = [";".join(pool[picks[j, : counts[j]]]) for j in range(len(where))]
    software = np.flatnonzero(category == "软件/硬件研发")
    if len(software):
        ai_names = np.array(list(AI_TITLES), dtype=object)
        ai_growth = np.array(list(AI_TITLES.values()))
        pick = rng.integers(0, len(ai_names), size=len(software))
        probability = 0.08 * (1 + ai_growth[pick]) ** step[software]
        is_ai = rng.random(len(software)) < probability
        chosen = software[is_ai]
        titles[chosen] = ai_names[pick[is_ai]]
        ai_pool = np.array(AI_SKILLS, dtype=object)
        weights = np.linspace(2.0, 0.5, len(ai_pool))
        weights /= weights.sum()
        skills[chosen] = [
            ";".join(rng.choice(ai_pool, size=5, replace=False, p=weights)) for _ in chosen
        ]

    day = rng.integers(0, 365, size=n)
    dates = pd.to_datetime(pd.Series(year).astype(str) + "-01-01") + pd.to_timedelta(day, unit="D")
    posting_ids = np.array([f"SYN{i:08d}" for i in range(n)], dtype=object)
    raw = pd.DataFrame(
        {
            "posting_id": posting_ids,
            "date": dates.dt.strftime("%Y-%m-%d").to_numpy(),
            "city_code": [CITY_CODES[c] for c in city],
            "city_name": city,
            "occupation_category": category,
            "title": titles,
            "description": descriptions,
            "salary_min": salary_min,
            "salary_max": salary_max,
            "education": education_text,
            "experience_years_min": np.array(EXPERIENCE_CHOICES, dtype=object)[experience],
            "applicants": applicants,
            "skills": skills,
            "onetsoc_code": occupation,
        }
    )
    postings = validate_postings(raw, source="synthetic postings")
    truth = pd.DataFrame(truth_rows, columns=["posting", "line", "dwa_id"])
    truth = truth.sort_values("posting", kind="stable")
    truth.insert(0, "posting_id", posting_ids[truth.pop("posting").to_numpy(dtype=np.int64)])
    truth = truth.reset_index(drop=True)
    return SyntheticPostings(postings, truth)


def _normalised(probabilities: Sequence[float]) -> np.ndarray:
    values = np.asarray(probabilities, dtype=float)
    return values / values.sum()


_HEADINGS = {
    True: ("岗位职责：", "任职要求：", "福利待遇：", "公司介绍："),
    False: ("Responsibilities:", "Requirements:", "Benefits:", "About us:"),
}


def _describe(
    duties: list[str],
    distractors: list[str],
    kinds: list[str],
    headed: bool,
    chinese: bool,
    numbered: bool,
) -> str:
    """One description: sectioned under headings, or every line in one list."""

    def listing(lines: list[str]) -> list[str]:
        if numbered:
            return [f"{i}. {line}" for i, line in enumerate(lines, start=1)]
        return [f"- {line}" for line in lines]

    if not headed:
        mixed = list(duties)
        for position, text in enumerate(distractors):
            mixed.insert((position * 3) % (len(mixed) + 1), text)
        return "\n".join(([_HEADINGS[chinese][0]] if chinese else []) + listing(mixed))
    duty_heading, requirement_heading, benefit_heading, blurb_heading = _HEADINGS[chinese]
    parts: list[str] = []
    blurbs = [t for t, k in zip(distractors, kinds, strict=True) if k == "blurb"]
    if blurbs:
        parts += [blurb_heading, *blurbs]
    parts += [duty_heading, *listing(duties)]
    requirements = [t for t, k in zip(distractors, kinds, strict=True) if k == "requirement"]
    if requirements:
        parts += [requirement_heading, *listing(requirements)]
    benefits = [t for t, k in zip(distractors, kinds, strict=True) if k == "benefit"]
    if benefits:
        parts += [benefit_heading, *benefits]
    return "\n".join(parts)


def write_synthetic_postings(
    onet_source: Path, out: Path, truth_out: Path, spec: SyntheticSpec = SyntheticSpec()
) -> SyntheticPostings:
    """Generate synthetic postings from an O*NET release and write postings and truth
    (CSV or Parquet, by suffix)."""
    from dwa_rater.catalog import load_onet
    from dwa_rater.indices.postings import write_postings

    result = make_synthetic_postings(load_onet(onet_source), spec)
    write_postings(result.postings, out)
    truth_out.parent.mkdir(parents=True, exist_ok=True)
    if truth_out.suffix.lower() == ".parquet":
        result.truth.to_parquet(truth_out, index=False)
    else:
        result.truth.to_csv(truth_out, index=False, encoding="utf-8")
    return result
