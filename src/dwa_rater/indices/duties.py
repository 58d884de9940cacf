"""Split a job-posting description (Chinese or English) into duty lines, one activity per line.

A description is first cut into sections at headings such as 岗位职责 / 任职要求 / 福利待遇 or
Responsibilities / Requirements / Benefits (a heading is a known name at the start of a line or
after a sentence end, optionally numbered 一、 or wrapped in 【】, followed by a colon or the end
of the line). Section kinds:

- ``duties`` (岗位职责, 工作内容, Responsibilities, ...): always kept;
- ``generic`` (职位描述, 职位信息, Job Description) and text before any heading: kept only when
  the description has no ``duties`` section (then they are where the duties are);
- ``requirements`` (任职要求, 任职资格, Requirements, Qualifications, ...): they describe the
  person, not the work, so they are dropped unless ``drop_requirements=False``;
- ``other`` (福利待遇, 公司介绍, 工作地点, Benefits, About us, ...): dropped unless
  ``drop_other_sections=False``.

Each kept section is cut into items at newlines, Chinese sentence punctuation (。；！？), ``;``,
English sentence ends (a full stop followed by a capital, not after e.g./i.e./etc./Inc.),
numbered-list markers (``1.`` ``1、`` ``(1)`` ``（1）`` ``①`` ``一、``) and bullets
(``• ● ◆ ■ ★ ✓`` anywhere; ``- * ·`` at the start of a line). Items are stripped of surrounding
punctuation and whitespace (inner whitespace runs become one space); items narrower than
``min_width`` display columns (a CJK character counts 2, anything else 1; default 10, so four
Chinese characters or nine Latin ones are dropped) and bare headings are dropped; duplicates
within one description are dropped, keeping the first.

Every function here is pure. Decimal numbers (``1.5万``), times (``8:30``), version numbers
(``Python3.6``) and ranges (``3-5年``) are not split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

SectionKind = Literal["duties", "generic", "requirements", "other", "unlabelled"]

#: Heading names per section kind (matched case-insensitively, longest first).
DUTY_HEADINGS: tuple[str, ...] = (
    "岗位职责", "工作职责", "职位职责", "岗位职能", "工作内容", "职责描述", "岗位描述", "工作描述",
    "主要职责", "岗位内容", "主要工作", "职责范围", "你的职责", "你将负责", "职责",
    "Responsibilities", "Key Responsibilities", "Job Responsibilities", "Main Responsibilities",
    "Duties", "Job Duties", "Main Duties", "Duties and Responsibilities", "What you will do",
    "What you'll do", "Your role", "The role", "Your responsibilities", "Tasks",
)  # fmt: skip
GENERIC_HEADINGS: tuple[str, ...] = (
    "职位描述", "职位信息", "职位详情", "职位介绍", "岗位说明", "Job Description", "Description",
    "Job Details", "About the role", "Position Summary",
)  # fmt: skip
REQUIREMENT_HEADINGS: tuple[str, ...] = (
    "任职要求", "任职资格", "岗位要求", "职位要求", "应聘要求", "招聘要求", "技能要求", "任职条件",
    "资格要求", "基本要求", "岗位资格", "任职标准", "我们希望你", "希望你", "要求",
    "Requirements", "Job Requirements", "Qualifications", "Minimum Qualifications",
    "Preferred Qualifications", "Basic Qualifications", "Skills", "Skills and Experience",
    "What we are looking for", "What we're looking for", "Who you are", "About you",
)  # fmt: skip
OTHER_HEADINGS: tuple[str, ...] = (
    "福利待遇", "薪资福利", "薪酬福利", "公司福利", "职位福利", "员工福利", "福利", "待遇",
    "薪资待遇",
    "我们提供", "公司介绍", "公司简介", "关于我们", "工作地点", "工作地址", "上班地址", "工作时间",
    "上班时间", "联系方式", "联系人", "联系电话", "简历投递", "Benefits", "Perks", "What we offer",
    "About us", "About the company", "Company Overview", "Location", "Working hours", "Contact",
    "How to apply",
)  # fmt: skip

_KIND_OF: dict[str, SectionKind] = {}
for _kind, _names in (
    ("duties", DUTY_HEADINGS),
    ("generic", GENERIC_HEADINGS),
    ("requirements", REQUIREMENT_HEADINGS),
    ("other", OTHER_HEADINGS),
):
    for _name in _names:
        _KIND_OF[_name.casefold()] = _kind  # type: ignore[assignment]


def _spellings(name: str) -> set[str]:
    # Headings are written as given, capitalised or in capitals; matching only these (not any
    # case) keeps the scan fast: it only stops at capitals and rare Chinese characters.
    return {name, name[:1].upper() + name[1:], name.upper(), name.title()}


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, as a character trie (fast to scan)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return emit(trie)


_NAMES = {
    spelling
    for names in (DUTY_HEADINGS, GENERIC_HEADINGS, REQUIREMENT_HEADINGS, OTHER_HEADINGS)
    for name in names
    for spelling in _spellings(name)
}
_CN_NUM = "一二三四五六七八九十"
_DIGIT = "0-9０-９"
_BOUNDARY_CHARS = r"\n\r。；;！!？?\s】\]：:"

# A heading name followed by a colon, the end of the line, or a list marker. What precedes it
# (a boundary, then optionally a bracket or a section number) is checked by _HEADING_PREFIX.
_HEADING = re.compile(
    "(?P<name>" + _trie_pattern(_NAMES) + ")"
    r"[ \t]*[】\]]?[ \t]*(?:[：:；;]|(?=[ \t]*(?:[\r\n]|$))"
    rf"|(?=[{_DIGIT}]{{1,2}}[、．.](?![{_DIGIT}])|[（(][{_DIGIT}][)）]|[①⑴⒈]))"
)
_HEADING_PREFIX = re.compile(
    rf"(?:^|[{_BOUNDARY_CHARS}])[ \t]*[【\[]?[ \t]*"
    rf"(?:[{_CN_NUM}]{{1,3}}[ \t]*[、.．][ \t]*|[{_DIGIT}]{{1,2}}[ \t]*[、．][ \t]*"
    rf"|[（(][{_CN_NUM}{_DIGIT}]{{1,3}}[)）][ \t]*)?$"
)

# Split points inside a section. The pattern starts with one consumed character from a small
# set, so the regex engine skips every other character quickly; each branch then checks what
# was consumed (lookbehinds of fixed width) and consumes the rest of the marker.
_BOUNDARY = r"[^\s，,:：;；。!！?？、】\]）)]"  # a character that may NOT precede a list marker
_BULLETS = "•●○■□◆◇▪▫►▶★☆➢➤✓✔√◎※"
_LINE_BULLETS = "\\-*·–—"
_SPLIT = re.compile(
    rf"[\r\n。；;！!？?.{_DIGIT}（({_CN_NUM}①-⑳⑴-⒇⒈-⒛{_BULLETS}{_LINE_BULLETS}]"
    "(?:"
    # Newlines, then an optional bullet at the start of the next line.
    rf"(?<=[\r\n])[\r\n]*(?:[ \t]*[{_LINE_BULLETS}]+(?=[ \t]*\S))?[ \t]*"
    # Chinese and other sentence punctuation.
    r"|(?<=[。；;！!？?])[。；;！!？?]*"
    # English sentence end: a full stop after a word (not an abbreviation), then space and a
    # capital or a Chinese character.
    r"|(?<=[A-Za-z0-9)\"'’”]\.)(?<!e\.g\.)(?<!i\.e\.)(?<!etc\.)(?<!Inc\.)(?<!Ltd\.)"
    r"(?<!\bCo\.)(?<!\bDr\.)(?<!\bMr\.)(?<!Mrs\.)(?<!\bMs\.)(?<!\bNo\.)(?<!\bvs\.)(?<!\bSt\.)"
    r"(?:\s+|(?=[\u4e00-\u9fff]))(?=[A-Z(\u4e00-\u9fff])"
    # Numbered markers: 1. 1) 1．（after a boundary), 1、 (after anything but a digit or dot).
    rf"|(?<=[{_DIGIT}])(?<!{_BOUNDARY}[{_DIGIT}])(?<![{_DIGIT}][{_DIGIT}])"
    rf"[{_DIGIT}]?[ \t]*[.．)）](?![{_DIGIT}])[ \t]*"
    rf"|(?<=[{_DIGIT}])(?<![{_DIGIT}.．][{_DIGIT}])[{_DIGIT}]?[ \t]*、[ \t]*"
    # (1) （1） (一)
    rf"|(?<=[（(])[ \t]*[{_CN_NUM}{_DIGIT}]{{1,3}}[ \t]*[)）][ \t]*"
    # 一、 after a boundary.
    rf"|(?<=[{_CN_NUM}])(?<!{_BOUNDARY}[{_CN_NUM}])[{_CN_NUM}]{{0,2}}[ \t]*、[ \t]*"
    # Circled and parenthesised numbers, bullets anywhere.
    rf"|(?<=[①-⑳⑴-⒇⒈-⒛{_BULLETS}])[ \t]*"
    # - * · at the very start of the text.
    rf"|(?<=^[{_LINE_BULLETS}])[{_LINE_BULLETS}]*[ \t]*"
    ")"
)
_STRIP = " \t\r\n\u3000\xa0，,、：:;；。.!！?？-–—*·•"
_LEAD_STRIP = _STRIP + ")）]】"
_CLOSING = (")", "）")
_CJK_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)
_HAS_WORD = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def display_width(text: str) -> int:
    """Display columns of ``text``: CJK and full-width characters count 2, others 1."""
    if text.isascii():
        return len(text)
    return len(text) + len(_CJK_WIDE.findall(text))


def split_sections(text: str) -> list[tuple[SectionKind, str]]:
    """Cut ``text`` at headings; return ``(kind, body)`` pairs in order, headings removed.

    Text before the first heading has kind ``"unlabelled"``. Empty bodies are kept (they show
    where a heading was).
    """
    sections: list[tuple[SectionKind, str]] = []
    kind: SectionKind = "unlabelled"
    start = 0
    for match in _HEADING.finditer(text):
        prefix = _HEADING_PREFIX.search(text, max(0, match.start() - 12), match.start())
        if prefix is None:
            continue
        heading_start = prefix.start() + (1 if prefix.group().startswith(tuple("\n\r")) else 0)
        sections.append((kind, text[start:heading_start]))
        kind = _KIND_OF[match.group("name").casefold()]
        start = match.end()
    sections.append((kind, text[start:]))
    return [(k, body) for k, body in sections if k != "unlabelled" or body.strip()]


def clean_line(piece: str) -> str:
    """Strip surrounding punctuation and whitespace; collapse inner whitespace runs."""
    piece = piece.strip(_STRIP).lstrip(_LEAD_STRIP)
    if piece.endswith(_CLOSING) and "(" not in piece and "（" not in piece:
        piece = piece.rstrip(_STRIP + ")）").rstrip(_STRIP)
    if "  " in piece or "\t" in piece or "\n" in piece or "\u3000" in piece or "\xa0" in piece:
        return " ".join(piece.split())
    return piece


def split_items(body: str, min_width: int = 10) -> list[str]:
    """Cut one section body into cleaned items; drop narrow items and bare headings."""
    items: list[str] = []
    for piece in _SPLIT.split(body):
        if not piece:
            continue
        line = clean_line(piece)
        if (
            display_width(line) < min_width
            or line.casefold() in _KIND_OF
            or not _HAS_WORD.search(line)
        ):
            continue
        items.append(line)
    return items


def split_duties(
    text: str | None,
    *,
    drop_requirements: bool = True,
    drop_other_sections: bool = True,
    min_width: int = 10,
    drop_non_duty_lines: bool | None = None,
) -> list[str]:
    """The duty lines of one description, in order, without duplicates (see the module doc).

    ``drop_non_duty_lines`` (default: as ``drop_requirements``) also drops single Chinese
    lines that :func:`dwa_rater.indices.line_kinds.line_kind` classifies as a requirement,
    benefit or boilerplate although they sit in a duties section.
    ``None``, NaN or empty text gives ``[]``.
    """
    if not isinstance(text, str) or not text.strip():
        return []
    sections = split_sections(text)
    has_duties = any(kind == "duties" for kind, _ in sections)
    kept: list[str] = []
    for kind, body in sections:
        if kind in ("generic", "unlabelled") and has_duties:
            continue
        if kind == "requirements" and drop_requirements:
            continue
        if kind == "other" and drop_other_sections:
            continue
        kept.extend(split_items(body, min_width))
    if drop_requirements if drop_non_duty_lines is None else drop_non_duty_lines:
        from dwa_rater.indices.line_kinds import is_duty_line

        kept = [line for line in kept if is_duty_line(line)]
    return list(dict.fromkeys(kept))


def split_many(
    texts: Iterable[str | None],
    *,
    drop_requirements: bool = True,
    drop_other_sections: bool = True,
    min_width: int = 10,
) -> list[list[str]]:
    """:func:`split_duties` over many descriptions, splitting each distinct text once."""
    done: dict[str | None, list[str]] = {}
    out: list[list[str]] = []
    for text in texts:
        key = text if isinstance(text, str) else None
        lines = done.get(key)
        if lines is None:
            lines = split_duties(
                key,
                drop_requirements=drop_requirements,
                drop_other_sections=drop_other_sections,
                min_width=min_width,
            )
            done[key] = lines
        out.append(lines)
    return out
