"""The Python API re-exported from ``dwa_rater``: rate/arate (also inside a running event loop),
items and raters in every accepted form, agree, calibrate, and the notebook-style example."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import dwa_rater
from dwa_rater.agreement import BootstrapSpec, assess_agreement
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import load_prompt
from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[1]
ONET_MINI = REPO / "tests" / "fixtures" / "onet_mini"
IDS = ["4.A.1.a.1.I01.D01", "4.A.2.b.1.I11.D01", "4.A.3.a.3.I05.D06"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture(scope="module")
def onet_items() -> pd.DataFrame:
    items = dwa_rater.dwa_items(dwa_rater.load_onet(ONET_MINI))
    return items[items["id"].isin(IDS)].reset_index(drop=True)


def rater(server: FakeOpenAIServer, **extra: object) -> dict[str, object]:
    return {"name": "fake", "base_url": server.base_url, "model": "fake-model", **extra}


def test_import_is_light() -> None:
    code = (
        "import sys, dwa_rater; heavy = {'pandas', 'numpy', 'openai', 'instructor', 'typer', "
        "'scipy', 'sklearn', 'matplotlib'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in dwa_rater.__all__:
        assert getattr(dwa_rater, name) is not None, name
    with pytest.raises(AttributeError):
        _ = dwa_rater.no_such_function  # type: ignore[attr-defined]


def test_dwa_items_table(onet_items: pd.DataFrame) -> None:
    assert list(onet_items.columns) == ["id", "text", "context", "item_type"]
    assert sorted(onet_items["id"]) == sorted(IDS)
    assert set(onet_items["item_type"]) == {"dwa"}
    assert onet_items["context"].str.startswith("IWA: ").all()
    tasks = dwa_rater.task_items(dwa_rater.load_onet(ONET_MINI))
    assert set(tasks["item_type"]) == {"task"}
    assert tasks["context"].str.startswith("Occupation: ").all()


def test_rate_returns_the_labelled_table(
    server: FakeOpenAIServer,
    onet_items: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    table = dwa_rater.rate(onet_items, raters=[rater(server)])
    assert isinstance(table, pd.DataFrame)
    assert sorted(table["item_id"]) == sorted(IDS)
    assert (table["status"] == "ok").all() and (table["item_type"] == "dwa").all()
    texts = dict(zip(onet_items["id"], onet_items["text"], strict=True))
    for row in table.itertuples():
        # The fake server's answer is a pure function of the statement: the label must be it.
        assert (row.label, pytest.approx(row.score)) == server.rating_for(texts[row.item_id])
    assert set(table["prompt_sha256"]) == {load_prompt("exposure").sha256}
    assert set(table["run_id"]) == {table.attrs["run"]["run_id"]}
    assert list(tmp_path.iterdir()) == []  # out=None writes nothing where it is called from


def test_rate_inside_a_running_event_loop(
    server: FakeOpenAIServer, onet_items: pd.DataFrame
) -> None:
    async def notebook_cell() -> pd.DataFrame:
        return dwa_rater.rate(onet_items, raters=[rater(server, name="in-loop")])

    table = asyncio.run(notebook_cell())
    labelled = table.dropna(subset=["label"])
    assert sorted(labelled["item_id"]) == sorted(IDS)


def test_arate_and_the_cache(server: FakeOpenAIServer, tmp_path: Path) -> None:
    statements = ["Write monthly sales reports.", "Lift heavy boxes onto shelves."]
    settings = [rater(server, name="async-rater", samples=2, temperature=0.7)]
    first = asyncio.run(dwa_rater.arate(statements, settings, cache_dir=tmp_path / "c"))
    assert sorted(first["item_id"].unique()) == ["1", "2"]
    assert sorted(set(first["item_text"])) == sorted(statements)
    assert len(first) == 4 and not first["cached"].any()
    before = server.chat_request_count
    second = dwa_rater.rate(statements, settings, cache_dir=tmp_path / "c")
    assert second["cached"].all() and server.chat_request_count == before
    pd.testing.assert_series_equal(
        first.sort_values(["item_id", "sample"])["label"].reset_index(drop=True),
        second.sort_values(["item_id", "sample"])["label"].reset_index(drop=True),
    )


def test_out_keeps_the_ratings_and_resumes(server: FakeOpenAIServer, tmp_path: Path) -> None:
    out = tmp_path / "ratings.parquet"
    first = dwa_rater.rate(["Draft contracts."], [rater(server, name="kept")], out=out)
    assert read_ratings(out)["item_id"].tolist() == ["1"]
    assert (tmp_path / "runs" / f"{first.attrs['run']['run_id']}.json").is_file()
    second = dwa_rater.rate(["Draft contracts."], [rater(server, name="kept")], out=out)
    assert second.attrs["run"]["counts"]["skipped"] == 1
    assert second["run_id"].tolist() == first["run_id"].tolist()


def test_raters_from_toml_and_the_rubric_argument(server: FakeOpenAIServer, tmp_path: Path) -> None:
    path = tmp_path / "raters.toml"
    path.write_text(
        f'[[raters]]\nname = "plain"\nbase_url = "{server.base_url}"\nmodel = "fake-model"\n'
        f'[[raters]]\nname = "own"\nbase_url = "{server.base_url}"\nmodel = "fake-model"\n'
        'rubric = "exposure@v1"\n',
        encoding="utf-8",
    )
    table = dwa_rater.rate(["Answer customer emails."], str(path), rubric="ilo")
    rubrics = dict(zip(table["rater"], table["prompt_name"], strict=True))
    assert rubrics == {"plain": "ilo", "own": "exposure"}
    assert table.loc[table["rater"] == "plain", "label"].isna().all()  # ilo gives a score only


def test_unnamed_rater_gets_a_name(server: FakeOpenAIServer) -> None:
    table = dwa_rater.rate(["Sort mail."], [{"base_url": server.base_url, "model": "fake-model"}])
    assert table["rater"].tolist() == ["fake-model-exposure"]


@pytest.mark.parametrize(
    ("items", "raters", "error", "message"),
    [
        ([], None, ConfigError, "nothing to rate"),
        ("one string", None, ConfigError, "not one string"),
        (pd.DataFrame({"id": ["a"]}), None, DataError, "text"),
        (pd.DataFrame({"id": ["a", "a"], "text": ["x", "y"]}), None, DataError, "duplicate"),
        (["x"], [{"name": "r", "api_key": "sk-secret"}], ConfigError, "api_key_env"),
        (["x"], [{"name": "r", "temperatur": 0.1}], ConfigError, "temperatur"),
        (["x"], [{"name": "r"}, {"name": "r"}], ConfigError, "duplicate rater"),
        (["x"], "/nonexistent/raters.toml", ConfigError, "not found"),
        (["x"], [{"name": "r", "rubric": "nope"}], Exception, "unknown rubric"),
    ],
)
def test_bad_input_is_one_clear_error(
    items: object, raters: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        dwa_rater.rate(items, raters)  # type: ignore[arg-type]


def test_agree_and_calibrate(server: FakeOpenAIServer, tmp_path: Path) -> None:
    statements = [f"Prepare document number {n}." for n in range(12)]
    out = tmp_path / "panel.csv"
    table = dwa_rater.rate(
        statements,
        [rater(server, name="t0"), rater(server, name="t1", temperature=1.0, seed=3)],
        out=out,
    )
    result = dwa_rater.agree(out, n_bootstrap=50, seed=1)
    direct = assess_agreement(table, bootstrap=BootstrapSpec(n_resamples=50, seed=1))
    assert result.summary == direct.summary
    assert sorted(result.summary["raters"]) == ["t0", "t1"]  # in order of appearance
    calibrated = dwa_rater.calibrate([out], require_human=False, bootstrap=0)
    assert calibrated.method == "latent_class"
    assert sorted(calibrated.scores["item_id"]) == sorted(table["item_id"].unique())
    assert calibrated.scores["score"].between(0, 1).all()


def test_example_notebook_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DWA_RATER_ONET_DIR": str(ONET_MINI), "PYTHONPATH": str(REPO / "src")}
    env.pop("EXAMPLE_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / "example_api.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "second run: 15 of 15 ratings from the cache" in done.stdout


@pytest.mark.parametrize(
    "module",
    [
        "dwa_rater.api.rating",
        "dwa_rater.api.analysis",
        "dwa_rater.resources",
        "dwa_rater.prompts",
        "dwa_rater.config",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
