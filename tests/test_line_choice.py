"""The LLM second stage of posting-line matching (``postings choose``).

Pure parts by hand; the whole stage through the ordinary rating path against the loopback
OpenAI-compatible server (whose answers are a known function of each line), and once against
the real embedded model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.api.line_choice import (
    CHOICE_RATINGS_FILE,
    LINE_CHOICES_FILE,
    choose_posting_lines,
)
from dwa_rater.cli.postings import register
from dwa_rater.embedding import text_sha256
from dwa_rater.errors import DataError
from dwa_rater.indices.line_choice import (
    apply_choices,
    choice_items,
    item_id_for,
    read_choices,
)
from dwa_rater.indices.mapping import MappingConfig
from dwa_rater.indices.mapping_files import (
    LINE_CANDIDATES_FILE,
    map_postings_file,
    read_mapping,
)
from dwa_rater.prompts import load_prompt
from dwa_rater.testing.encoders import KeywordEncoder
from dwa_rater.testing.fake_answers import fake_rating
from dwa_rater.testing.fake_openai import FakeOpenAIServer

RATER = [{"base_url": "http://127.0.0.1:9/v1", "model": "m"}]
ONET_MINI = Path(__file__).resolve().parent / "fixtures" / "onet_mini"
LABELS = load_prompt("line-choice", "v1").output.labels
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def _candidates() -> pd.DataFrame:
    rows = [(SHA_A, r, f"D{r}", 0.9 - r / 100) for r in range(1, 4)]
    rows += [(SHA_B, r, f"D{r + 3}", 0.8 - r / 100) for r in range(1, 4)]
    rows += [(SHA_C, 1, "D1", 0.7)]
    return pd.DataFrame(rows, columns=["line_sha", "rank", "dwa_id", "similarity"])


def _ratings(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "status", "label", "score"])


def test_the_rubric_offers_none_and_eight_candidates() -> None:
    prompt = load_prompt("line-choice", "v1")
    assert prompt.output.labels == ("none", *map(str, range(1, 9)))
    assert "none" in prompt.system and "requirement" in prompt.system


def test_choice_items_number_the_candidates_by_rank() -> None:
    lines = pd.DataFrame({"line_sha": [SHA_B, SHA_A, SHA_A], "line": ["编写报告", "分析数据", "x"]})
    titles = pd.Series({f"D{i}": f"Title {i}." for i in range(1, 7)})
    items = choice_items(lines, _candidates(), titles, k=2)
    assert items["id"].tolist() == [item_id_for(SHA_B), item_id_for(SHA_A)]
    assert items["text"].tolist() == ["编写报告", "分析数据"]
    assert items["context"].tolist() == [
        "candidates: 1 = Title 4.; 2 = Title 5.",
        "candidates: 1 = Title 1.; 2 = Title 2.",
    ]
    assert (items["item_type"] == "custom").all()
    with pytest.raises(DataError, match="between 1 and 8"):
        choice_items(lines, _candidates(), titles, k=9)
    with pytest.raises(DataError, match="missing from the catalogue"):
        choice_items(lines, _candidates(), titles.drop("D4"), k=2)


def test_read_choices_takes_the_majority_and_breaks_ties_towards_none() -> None:
    a, b, c = item_id_for(SHA_A), item_id_for(SHA_B), item_id_for(SHA_C)
    ratings = _ratings(
        [
            (a, "ok", "2", 0.8),
            (a, "ok", "2", 0.6),
            (a, "ok", "1", 0.9),
            (b, "ok", "3", 0.9),
            (b, "ok", "none", 0.5),
            (c, "failed", "1", 0.9),
            (c, "ok", "E1", 0.9),  # not a label of this rubric
        ]
    )
    decisions = read_choices(ratings, LABELS).set_index("item_id")
    assert decisions.loc[a, "decision"] == "2"
    assert decisions.loc[a, "n_votes"] == 2 and decisions.loc[a, "n_answers"] == 3
    assert decisions.loc[a, "confidence"] == pytest.approx(0.7)
    assert decisions.loc[b, "decision"] == "none"
    assert c not in decisions.index


def test_apply_choices_by_hand() -> None:
    first = pd.DataFrame(
        {
            "line_sha": [SHA_A, SHA_B, SHA_C],
            "dwa_id": ["D1", "D4", "D1"],
            "similarity": [0.89, 0.79, 0.7],
            "weight": [1.0, 1.0, 1.0],
        }
    )
    decisions = read_choices(
        _ratings([(item_id_for(SHA_A), "ok", "3", 0.9), (item_id_for(SHA_B), "ok", "none", 0.4)]),
        LABELS,
    )
    mapping, choices = apply_choices(first, _candidates(), decisions, [SHA_A, SHA_B, SHA_C])
    assert mapping.to_dict("records") == [
        {"line_sha": SHA_A, "dwa_id": "D3", "similarity": pytest.approx(0.87), "weight": 1.0},
        {"line_sha": SHA_C, "dwa_id": "D1", "similarity": 0.7, "weight": 1.0},
    ]
    assert choices["source"].tolist() == ["llm", "llm", "embedding"]
    assert choices["decision"].tolist()[:2] == ["3", "none"]
    assert pd.isna(choices["decision"].iloc[2])
    assert choices["rank"].tolist()[0] == 3
    bad = read_choices(_ratings([(item_id_for(SHA_C), "ok", "5", 0.9)]), LABELS)
    with pytest.raises(DataError, match="chose candidate 5, not listed"):
        apply_choices(first, _candidates(), bad, [SHA_C])


LINES = [
    "Write reports on data",
    "Lift and drive loads",
    "Repair and analyse data",
    "Draft summaries",
]


@pytest.fixture()
def first_stage(tmp_path: Path) -> Path:
    postings = pd.DataFrame(
        {
            "posting_id": ["p1", "p2"],
            "date": "2024-03-01",
            "city_code": "110000",
            "city_name": "北京",
            "occupation_category": "x",
            "title": "",
            "description": [
                f"Duties: 1. {LINES[0]} 2. {LINES[1]}",
                f"Duties: 1. {LINES[2]} 2. {LINES[3]} 3. {LINES[0]}",
            ],
            "salary_min": "",
            "salary_max": "",
            "education": "",
            "experience_years_min": "",
        }
    )
    path = tmp_path / "postings.csv"
    postings.to_csv(path, index=False)
    out = tmp_path / "map"
    map_postings_file(
        path,
        ONET_MINI,
        tmp_path / "embeddings",
        out,
        MappingConfig(threshold=-1.0, match_tasks=False),
        encoder=KeywordEncoder(),
    )
    return out


def test_choose_through_the_rating_path(first_stage: Path, tmp_path: Path) -> None:
    pooled, _ = read_mapping(first_stage)
    assert sorted(pooled.lines) == sorted(LINES)
    candidates = pd.read_parquet(first_stage / LINE_CANDIDATES_FILE)
    # Every DWA of the five in onet_mini is a candidate (fewer than n_candidates = 10).
    assert candidates.groupby("line_sha")["rank"].max().eq(5).all()
    assert candidates["line_sha"].nunique() == len(LINES)
    out, cache = tmp_path / "chosen", tmp_path / "responses"
    with FakeOpenAIServer() as server:
        raters = [{"name": "fake", "base_url": server.base_url, "model": "fake-model"}]
        result = choose_posting_lines(first_stage, out, raters, k=4, cache_dir=cache, environ={})
        assert server.chat_request_count == len(LINES)
        # The server answers E0/E1/E2 by a hash of the line, renamed onto none/1/2.
        expected = {
            line: {"E0": "none", "E1": "1", "E2": "2"}[fake_rating(line)[0]] for line in LINES
        }
        choices = pd.read_parquet(out / LINE_CHOICES_FILE).set_index("line")
        assert choices["decision"].to_dict() == expected
        assert result.n_llm == 4 and result.n_fallback == 0
        assert result.n_none == sum(v == "none" for v in expected.values())
        ranked = candidates.set_index(["line_sha", "rank"])["dwa_id"]
        _, mapping = read_mapping(out)
        chosen = dict(zip(mapping["line_sha"], mapping["dwa_id"], strict=True))
        for line, decision in expected.items():
            sha = text_sha256(line)
            if decision == "none":
                assert sha not in chosen
            else:
                assert chosen[sha] == ranked[(sha, int(decision))]
        posting_dwas = pd.read_parquet(out / "posting_dwas.parquet")
        by_hand = {
            (p, chosen[text_sha256(line)])
            for p, lines in (("p1", LINES[:2]), ("p2", [LINES[2], LINES[3], LINES[0]]))
            for line in lines
            if text_sha256(line) in chosen
        }
        assert set(zip(posting_dwas["posting_id"], posting_dwas["dwa_id"], strict=True)) == by_hand
        ratings = pd.read_csv(out / CHOICE_RATINGS_FILE)
        assert set(ratings["prompt_name"]) == {"line-choice"}
        assert set(ratings["prompt_sha256"]) == {load_prompt("line-choice", "v1").sha256}
        assert ratings["run_id"].notna().all() and (ratings["model"] == "fake-model").all()
        # Again into a new folder: every answer comes from the response cache.
        choose_posting_lines(first_stage, tmp_path / "again", raters, k=4, cache_dir=cache)
        assert server.chat_request_count == len(LINES)
        again = pd.read_parquet(tmp_path / "again" / LINE_CHOICES_FILE).set_index("line")
        assert again["decision"].to_dict() == expected


def test_lines_without_an_answer_keep_the_first_stage(first_stage: Path, tmp_path: Path) -> None:
    _, first = read_mapping(first_stage)
    with FakeOpenAIServer(faults=["500"] * 40) as server:
        raters = [{"name": "down", "base_url": server.base_url, "model": "m", "max_retries": 1}]
        result = choose_posting_lines(
            first_stage, tmp_path / "out", raters, cache_dir=tmp_path / "responses", environ={}
        )
    assert result.n_fallback == 4 and result.n_llm == 0 and result.n_failed_rows == 4
    _, mapping = read_mapping(tmp_path / "out")
    pd.testing.assert_frame_equal(
        mapping.sort_values("line_sha", ignore_index=True),
        first.sort_values("line_sha", ignore_index=True),
    )


def test_choose_needs_the_candidates_file(first_stage: Path, tmp_path: Path) -> None:
    (first_stage / LINE_CANDIDATES_FILE).unlink()
    with pytest.raises(DataError, match="run `dwa-rater postings map`"):
        choose_posting_lines(
            first_stage, tmp_path / "out", [{"base_url": "http://x", "model": "m"}]
        )


def test_cli_choose_with_the_embedded_model(first_stage: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    out = tmp_path / "chosen"
    result = CliRunner().invoke(
        app, ["postings", "choose", str(first_stage), "--out-dir", str(out), "--k", "3",
              "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 distinct lines:" in result.output
    ratings = pd.read_csv(out / CHOICE_RATINGS_FILE)
    assert set(ratings["rater"]) == {"embedded-line-choice"}
    assert ratings["model"].str.contains("smollm2").all()
    assert np.isfinite(ratings["latency_s"]).all()
    choices = pd.read_parquet(out / LINE_CHOICES_FILE)
    ok = choices[choices["source"] == "llm"]
    assert ok["decision"].isin(["none", "1", "2", "3"]).all()
