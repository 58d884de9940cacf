"""A rubric's scale lives in its manifest, and a rubric with other labels needs no code change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dwa_rater.agreement import assess_agreement, build_scale
from dwa_rater.api import calibrate
from dwa_rater.calibration import SCORE_COLUMNS, CalibrationOptions, calibrate_files
from dwa_rater.calibration.scale import scale_for_ratings, score_columns
from dwa_rater.cli.main import app
from dwa_rater.config import RaterSpec
from dwa_rater.errors import DataError, PromptError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR, exposure_scale, load_prompt
from dwa_rater.review.labeling import build_label_config
from dwa_rater.rubric import parse_scale
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import ok_ratings, read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer

LEVELS_MANIFEST = """name = "levels"
version = "v1"
output = "exposure"
description = "A test rubric with three plain-word levels"

[scale]
labels = ["none", "all", "some"]
order = ["none", "some", "all"]
default_coding = "linear"

[scale.codings.linear]
none = 0.0
some = 0.5
all = 1.0

[scale.codings.any]
none = 0.0
some = 1.0
all = 1.0

[scale.names]
none = "not at all"
some = "partly"
all = "entirely"

[scale.definitions]
none = "An LLM does none of it."
some = "An LLM does part of it."
all = "An LLM does all of it."
"""


@pytest.fixture
def levels_prompts(tmp_path: Path) -> Path:
    """A prompts folder with the shipped rubrics plus ``levels@v1``, whose labels differ."""
    root = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, root)
    folder = root / "levels" / "v1"
    folder.mkdir(parents=True)
    for name in ("system.md", "user.md"):
        shutil.copy(DEFAULT_PROMPTS_DIR / "exposure" / "v1" / name, folder / name)
    (folder / "manifest.toml").write_text(LEVELS_MANIFEST, encoding="utf-8")
    return root


def test_exposure_scale_comes_from_its_manifest() -> None:
    scale = exposure_scale()
    assert scale.labels == ("E0", "E1", "E2")
    assert scale.order == ("E0", "E2", "E1")
    assert scale.coding("beta") == {"E0": 0.0, "E2": 0.5, "E1": 1.0}
    assert scale.coding("alpha")["E2"] == 0.0 and scale.coding("gamma")["E2"] == 1.0
    assert set(scale.definitions) == {"E0", "E1", "E2"}
    assert load_prompt("exposure").output.labels == ("E0", "E1", "E2")
    assert score_columns(scale) == SCORE_COLUMNS  # the table scripts read, unchanged


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"labels": []}, "non-empty list"),
        ({"labels": ["a", "a"], "codings": {"c": {"a": 0}}}, "repeats"),
        ({"labels": ["a", "b"], "order": ["a", "c"], "codings": {"c": {"a": 0, "b": 1}}}, "order"),
        ({"labels": ["a", "b"], "codings": {}}, "at least one coding"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0}}}, "one code for each"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 1, "b": 0}}}, "decreases"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0, "b": 1}}, "default_coding": "x"}, "x"),
        ({"labels": ["a", "b"], "codings": {"c": {"a": 0, "b": 1}}, "names": {"z": "?"}}, "names"),
    ],
)
def test_bad_scales_are_refused_with_the_reason(table: dict[str, object], message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_scale(table, "demo/v1/manifest.toml")


def test_a_rubric_with_other_labels_runs_rate_agree_calibrate_and_review(
    tmp_path: Path, levels_prompts: Path
) -> None:
    prompt = load_prompt("levels", None, levels_prompts)
    assert prompt.scale is not None and prompt.output.labels == ("none", "all", "some")
    items = [
        Item(item_id=f"i{n:02d}", item_type="custom", text=f"Activity {n}.") for n in range(80)
    ]
    out = tmp_path / "ratings.csv"
    with FakeOpenAIServer() as first, FakeOpenAIServer(salt="other") as second:
        raters = [
            RaterSpec(name="a", base_url=first.base_url, model="m", rubric="levels", batch_size=4),
            RaterSpec(name="b", base_url=second.base_url, model="m", rubric="levels@v1"),
        ]
        execute_run(
            items, raters, out=out, cache_dir=tmp_path / "c", environ={}, prompts_dir=levels_prompts
        )
        chat = next(r for r in first.requests if r.path.endswith("/chat/completions"))
        sent = chat.body["response_format"]["json_schema"]["schema"]
    enum = sent["properties"]["ratings"]["items"]["properties"]["label"]["enum"]
    assert enum == ["none", "all", "some"]
    ratings = ok_ratings(read_ratings(out))
    assert len(ratings) == 160 and set(ratings["label"]) == {"none", "some", "all"}
    assert set(ratings["prompt_name"]) == {"levels"}

    scale = build_scale(rubric=prompt.scale)
    assert scale.labels == ("none", "some", "all") and scale.codes == (0.0, 0.5, 1.0)
    assert build_scale(rubric=prompt.scale, coding="any").codes == (0.0, 1.0, 1.0)
    agreement = assess_agreement(ratings, scale)
    (pair,) = agreement.summary["pairs"]
    assert 0.0 < pair["percent_agreement"] < 1.0  # the salted server disagrees on some items

    _calibrate_levels(tmp_path, levels_prompts, ratings)

    config = build_label_config("blind", prompt.scale)
    for label, name in (("none", "not at all"), ("some", "partly"), ("all", "entirely")):
        assert f'value="{label}"' in config and name in config
    assert "E0" not in config and 'hotkey="3"' in config and 'hotkey="4"' not in config


def _calibrate_levels(tmp_path: Path, prompts: Path, ratings: pd.DataFrame) -> None:
    """Calibrate the levels ratings on a human who agrees with rater ``a`` on 60 of 80 items:
    the scale comes from the ratings' rubric, and the held-out items follow rater ``a``."""
    by_rater = ratings.pivot(index="item_id", columns="rater", values="label")
    labelled = by_rater.index[:60]
    human = pd.DataFrame(
        {"item_id": labelled, "rater": "human", "label": by_rater.loc[labelled, "a"].to_numpy()}
    )
    human_file = tmp_path / "human.csv"
    human.to_csv(human_file, index=False)
    run = calibrate_files(
        [tmp_path / "ratings.csv", human_file],
        tmp_path / "scores.csv",
        CalibrationOptions(human="human", folds=3, neighbours=False),
        prompts_dir=prompts,
    )
    result = run.result
    assert result.scale.labels == ("none", "all", "some") and result.method == "calibrated"
    scores = pd.read_csv(run.scores, keep_default_na=False).set_index("item_id")
    probabilities = ["p_none", "p_all", "p_some"]
    assert list(scores.columns) == [
        "label", *probabilities, "linear", "any", "score", "source", "n_raters", "ci_low",
        "ci_high",
    ]  # fmt: skip
    assert np.allclose(scores[probabilities].sum(axis=1), 1.0)
    assert set(scores["label"]) <= {"none", "some", "all"}
    _, p_all, p_some = (scores[c].to_numpy() for c in probabilities)
    assert np.allclose(scores["linear"], 0.5 * p_some + p_all)
    assert np.allclose(scores["any"], p_some + p_all)
    assert ((scores["score"] >= 0) & (scores["score"] <= 1)).all()
    # Human labels are final: one-hot, scored on the default (linear) coding.
    human_rows = scores.loc[labelled]
    assert (human_rows["source"] == "human").all()
    assert (human_rows["label"] == by_rater.loc[labelled, "a"]).all()
    linear = {"none": 0.0, "some": 0.5, "all": 1.0}
    assert np.allclose(human_rows["score"], human_rows["label"].map(linear))
    # The mapping learnt that the human says what rater a says; b disagrees on some of these.
    held_out = by_rater.index[60:]
    rest = scores.loc[held_out]
    assert (rest["source"] == "calibrated").all()
    assert (rest["label"] == by_rater.loc[held_out, "a"]).all()
    assert (by_rater.loc[held_out, "a"] != by_rater.loc[held_out, "b"]).any()
    manifest = json.loads(run.manifest.read_text(encoding="utf-8"))
    assert manifest["scale"]["labels"] == ["none", "all", "some"]
    assert manifest["scores"]["columns"] == ["item_id", *scores.columns]
    assert set(manifest["training"]["class_counts"]) == {"none", "some", "all"}
    evaluation = pd.DataFrame(manifest["evaluation"]["table"]).set_index("method")
    assert "linear_mae" in evaluation.columns and "beta_mae" not in evaluation.columns
    assert evaluation.loc["calibrated", "accuracy"] > evaluation.loc["majority", "accuracy"]

    # The command line gives the same table, and the export and report follow the scale.
    runner = CliRunner()
    out = tmp_path / "cli_scores.csv"
    command = [
        "calibrate", str(tmp_path / "ratings.csv"), str(human_file), "--human", "human",
        "--out", str(out), "--folds", "3", "--no-neighbours", "--prompts-dir", str(prompts),
        "--report", str(tmp_path / "report"),
    ]  # fmt: skip
    invoked = runner.invoke(app, command)
    assert invoked.exit_code == 0, invoked.output
    assert "linear_mae=" in invoked.output
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(run.scores))
    html = (tmp_path / "report" / "calibration.html").read_text(encoding="utf-8")
    assert "linear_mae" in html and "says some" in html
    # `agree` takes the order and coding from the rubric the ratings name (no --order needed).
    agreed = runner.invoke(
        app,
        ["agree", str(tmp_path / "ratings.csv"), "--json", str(tmp_path / "agree.json"),
         "--prompts-dir", str(prompts), "--bootstrap", "0"],
    )  # fmt: skip
    assert agreed.exit_code == 0, agreed.output
    agree_scale = json.loads((tmp_path / "agree.json").read_text("utf-8"))["scale"]
    assert agree_scale["order"] == ["none", "some", "all"] and agree_scale["coding"] == "linear"
    exported = runner.invoke(app, ["export", str(out), "--out", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    table = pd.read_csv(tmp_path / "export" / "dwa_scores.csv")
    assert {"p_none", "p_some", "p_all", "linear", "any"} <= set(table.columns)
    provenance = json.loads((tmp_path / "export" / "provenance.json").read_text("utf-8"))
    assert [c["name"] for c in provenance["schema"]] == list(table.columns)

    # Naming the rubric gives the same scale; naming one whose labels differ is refused.
    named = calibrate(
        [tmp_path / "ratings.csv", human_file],
        rubric="levels@v1",
        prompts_dir=prompts,
        bootstrap=0,
    )
    assert tuple(named.scores.columns[2:5]) == ("p_none", "p_all", "p_some")
    with pytest.raises(DataError, match="outside the scale E0, E1, E2"):
        calibrate([tmp_path / "ratings.csv", human_file], rubric="exposure", prompts_dir=prompts)


def test_raters_with_rubrics_of_different_labels_are_not_calibrated_together(
    levels_prompts: Path,
) -> None:
    ids = [f"i{n}" for n in range(6)]
    rows = pd.concat(
        [
            pd.DataFrame(
                {"item_id": ids, "rater": "x", "label": ["E0", "E1", "E2"] * 2,
                 "prompt_name": "exposure", "prompt_version": "v1"}
            ),
            pd.DataFrame(
                {"item_id": ids, "rater": "y", "label": ["none", "all", "some"] * 2,
                 "prompt_name": "levels", "prompt_version": "v1"}
            ),
            pd.DataFrame({"item_id": ids[:3], "rater": "human", "label": ["E0", "E1", "E2"]}),
        ]
    )  # fmt: skip
    with pytest.raises(DataError) as caught:
        calibrate(rows, prompts_dir=levels_prompts)
    message = str(caught.value)
    assert "different label scales" in message and "\n" not in message
    assert "exposure@v1 (E0, E1, E2; raters x)" in message
    assert "levels@v1 (none, all, some; raters y)" in message
    # The same raters on rubrics that share a scale calibrate together.
    same = rows.copy()
    is_y = (same["rater"] == "y").to_numpy()
    same.loc[is_y, "label"] = ["E0", "E1", "E2"] * 2
    same.loc[is_y, "prompt_name"] = "exposure-anchored"
    result = calibrate(same, prompts_dir=levels_prompts, bootstrap=0)
    assert list(result.scores.columns[:5]) == ["item_id", "label", "p_E0", "p_E1", "p_E2"]


def test_the_scale_is_read_from_the_rubrics_the_llm_raters_name(levels_prompts: Path) -> None:
    rows = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "a", "a"],
            "rater": ["x", "ref", "ilo", "annotator", "human"],
            "label": ["some", "E1", None, "E0", "E2"],
            "prompt_name": ["levels", "reference-vote", "ilo", "exposure-review", "exposure"],
            "prompt_version": ["v1", "v1", "v1", "blind", "v1"],
        }
    )
    # Unknown rubrics, score-only rubrics and the human's rows say nothing about the scale.
    found = scale_for_ratings(rows, prompts_dir=levels_prompts, human="human")
    assert found.labels == ("none", "all", "some")
    assert scale_for_ratings(rows.iloc[1:4], prompts_dir=levels_prompts) is exposure_scale()
    assert scale_for_ratings(rows, rubric="exposure@v1").labels == ("E0", "E1", "E2")
    with pytest.raises(DataError, match="different label scales"):
        scale_for_ratings(rows, prompts_dir=levels_prompts)  # the human's exposure@v1 counts
