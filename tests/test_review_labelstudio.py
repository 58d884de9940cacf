"""Human review against a real Label Studio (dwa_rater.review.studio, labeling, cli.review).

The ``label_studio`` fixture uses ``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY`` when both are
set; otherwise it installs Label Studio into ``.venv-labelstudio`` if needed and starts one
throwaway server with ``scripts/labelstudio.sh`` for the whole session (about 35-80 s the first
time: database migrations), then stops it. Annotators act through the REST API with their own
tokens, as the browser would; one test renders the annotator screen in Debian's chromium.

The first tests (labelling config and task payloads) need no server.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.catalog import OnetTables, load_onet
from dwa_rater.cli.review import register
from dwa_rater.errors import ReviewError
from dwa_rater.review import studio
from dwa_rater.review.context import Translation, linked_context
from dwa_rater.review.convert import CONSENSUS_RATER
from dwa_rater.review.labeling import (
    MODEL_OUTPUT_KEYS,
    build_label_config,
    reference_config_text,
)
from dwa_rater.review.pseudonyms import PSEUDONYM_KEY_ENV, make_key
from dwa_rater.review.select import SelectionRule, select_contested
from dwa_rater.review.tasks import (
    RaterView,
    ReviewItem,
    build_task,
    raters_table_html,
    review_items_from_catalog,
)
from dwa_rater.store import read_ratings, write_ratings

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "labelstudio.sh"
SHARED_DATA = DATA_DIR
CHROMIUM = Path("/usr/bin/chromium")
RATERS = ("gpt-4o-mini", "llama-3.1-8b", "qwen2.5-7b")
EVIL = "<script>alert(1)</script> & <b>bold</b>"
SECRET = "pseudonym-key-for-tests-0123456789"
KEY = make_key(SECRET)


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[studio.StudioConnection]:
    """A Label Studio server: the one in the environment, or a throwaway one started here."""
    url = os.environ.get("LABEL_STUDIO_URL")
    key = os.environ.get("LABEL_STUDIO_API_KEY")
    if url and key:
        yield studio.StudioConnection(url, key)
        return
    if not (REPO / ".venv-labelstudio" / "bin" / "label-studio").exists():
        subprocess.run(["bash", str(SCRIPT), "install"], check=True, timeout=1200)
    data_dir = tmp_path_factory.mktemp("labelstudio-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    env["DWA_RATER_HOME"] = str(tmp_path_factory.mktemp("labelstudio-state"))
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        exported = subprocess.run(
            ["bash", str(SCRIPT), "env", "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        values = dict(part.split("=", 1) for part in exported.split()[1:])
        yield studio.StudioConnection(values["LABEL_STUDIO_URL"], values["LABEL_STUDIO_API_KEY"])
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", "--data-dir", str(data_dir)], env=env, timeout=60
        )
        shutil.rmtree(data_dir, ignore_errors=True)  # it holds the admin credentials


@pytest.fixture(scope="module")
def onet() -> OnetTables:
    if not (SHARED_DATA / "onet").is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA / 'onet'}")
    return load_onet(SHARED_DATA / "onet")


def _ratings(dwa_ids: list[str]) -> pd.DataFrame:
    """Three LLM raters on the given DWAs; the first 80 % contested, the rest calm.

    Contested items cycle through the three rules: i % 3 == 0 label disagreement (E0/E1/E2),
    1 score spread (E1 at 0.1/0.5/0.9), 2 self-inconsistency (the first rater's two samples
    say E1 and E2). Every rationale holds ``why-<i>-`` and markup that must be escaped.
    """
    rows = []
    n_contested = int(len(dwa_ids) * 0.8)
    for i, dwa_id in enumerate(dwa_ids):
        for r, rater in enumerate(RATERS):
            samples: list[tuple[str, float]]
            if i >= n_contested:
                samples = [("E0", 0.1)]
            elif i % 3 == 0:
                samples = [(("E0", "E1", "E2")[r], 0.3 + 0.1 * r)]
            elif i % 3 == 1:
                samples = [("E1", (0.1, 0.5, 0.9)[r])]
            else:
                samples = [("E1", 0.5), ("E2", 0.55)] if r == 0 else [("E1", 0.5)]
            for sample, (label, score) in enumerate(samples):
                rows.append(
                    {
                        "item_id": dwa_id,
                        "item_type": "dwa",
                        "item_text": f"statement {i}",
                        "rater": rater,
                        "model": rater,
                        "sample": sample,
                        "status": "ok",
                        "label": label,
                        "score": score,
                        "rationale": f"why-{i}-{rater} {EVIL}",
                    }
                )
    return pd.DataFrame(rows)


def _rest(
    connection: studio.StudioConnection, method: str, path: str, token: str | None = None, **kw
) -> Any:
    answer = httpx.request(
        method,
        connection.url.rstrip("/") + path,
        headers={"Authorization": f"Token {token or connection.api_key}"},
        timeout=60,
        **kw,
    )
    answer.raise_for_status()
    return answer.json() if answer.content else None


def _result(label: str, score: float, comment: str, confidence: str = "sure") -> list[dict]:
    return [
        {"from_name": "label", "to_name": "statement", "type": "choices",
         "value": {"choices": [label]}},
        {"from_name": "score", "to_name": "statement", "type": "number",
         "value": {"number": score}},
        {"from_name": "confidence", "to_name": "statement", "type": "choices",
         "value": {"choices": [confidence]}},
        {"from_name": "comment", "to_name": "statement", "type": "textarea",
         "value": {"text": [comment]}},
    ]  # fmt: skip


def _annotate(
    connection: studio.StudioConnection,
    token: str,
    task_id: int,
    label: str,
    score: float,
    confidence: str = "sure",
    lead_time: float = 4.0,
) -> int:
    created = _rest(
        connection,
        "POST",
        f"/api/tasks/{task_id}/annotations/",
        token,
        json={
            "result": _result(label, score, f"{label} because", confidence),
            "lead_time": lead_time,
        },
    )
    return int(created["id"])


def _cli(env: dict[str, str], *args: str, code: int = 0) -> str:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, f"{result.output}\n{result.exception!r}"
    return result.output


def _env(connection: studio.StudioConnection, home: Path) -> dict[str, str]:
    return {
        "LABEL_STUDIO_URL": connection.url,
        "LABEL_STUDIO_API_KEY": connection.api_key,
        "DWA_RATER_ONET_DIR": str(SHARED_DATA / "onet"),
        "DWA_RATER_HOME": str(home),
        PSEUDONYM_KEY_ENV: SECRET,
    }


def _unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------------------
# Without a server: the labelling config and the task payloads


def test_label_config_has_the_rubric_controls_and_blind_hides_model_output() -> None:
    for mode in ("blind", "assisted"):
        root = ET.fromstring(build_label_config(mode))
        choices = root.find(".//Choices[@name='label']")
        assert choices is not None
        assert [(c.get("value"), c.get("hotkey")) for c in choices] == [
            ("E0", "1"),
            ("E1", "2"),
            ("E2", "3"),
        ]
        assert "physical or manual work" in (choices[0].get("html") or "")  # beside the choice
        number = root.find(".//Number")
        assert number is not None
        assert (number.get("min"), number.get("max"), number.get("step")) == ("0", "1", "0.05")
        assert number.get("slider") == "true"
        confidence = root.find(".//Choices[@name='confidence']")
        assert confidence is not None and confidence.get("required") == "true"
        assert [(c.get("value"), c.get("hotkey")) for c in confidence] == [
            ("sure", "s"),
            ("unsure", "n"),
        ]
        assert root.find(".//TextArea") is not None
    blind, assisted = build_label_config("blind"), build_label_config("assisted")
    assert "$raters_html" in assisted and "$disagreement" in assisted
    assert not any(f"${key}" in blind for key in MODEL_OUTPUT_KEYS)


def test_reference_config_in_annotations_is_up_to_date() -> None:
    kept = (REPO / "annotations" / "labeling_config.xml").read_text(encoding="utf-8")
    assert kept == reference_config_text()


def test_task_payloads_escape_model_output_and_blind_tasks_carry_none() -> None:
    view = RaterView("r1", "m1", 0, "E1", 0.5, EVIL)
    item = ReviewItem("1.A", "Draft <letters>.", "IWA", "GWA", ("Clerks & <Typists>",),
                      "label_disagreement", "E1 vs E2", (view,))  # fmt: skip
    table = raters_table_html([view])
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "&amp; &lt;b&gt;bold&lt;/b&gt;" in table
    assisted = build_task(item, "assisted")
    assert assisted["data"]["raters_html"] == table
    assert assisted["data"]["ext_id"] == "dwa:1.A"
    blind = build_task(item, "blind")
    assert not MODEL_OUTPUT_KEYS & blind["data"].keys()
    assert "predictions" not in blind and "predictions" not in assisted
    assert EVIL not in json.dumps(blind) and "m1" not in json.dumps(blind)
    assert blind["data"]["statement"] == "Draft <letters>."  # Label Studio escapes Text values
    assert "Clerks &amp; &lt;Typists&gt;" in blind["data"]["context_html"]


# --------------------------------------------------------------------------------------------
# Against the real server


@pytest.mark.labelstudio
@pytest.mark.slow
def test_push_annotate_pull_round_trip(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    connection = label_studio
    title = _unique("round trip")
    ratings = write_ratings(_ratings(onet.dwas["dwa_id"][:50].tolist()), tmp_path / "llm.csv")
    env = _env(connection, tmp_path / "home")
    push = ["review", "push", str(ratings), "--project", title, "--overlap", "2",
            "--audit-fraction", "1"]  # fmt: skip

    output = _cli(env, *push)
    assert "created: 50 tasks imported, 0 already there" in output
    assert "label_disagreement: 14, score_spread: 13, self_inconsistent: 13, audit: 10" in output
    output = _cli(env, *push)
    assert "kept: 0 tasks imported, 50 already there" in output

    client, project = studio.open_project(connection, title)
    assert project.task_count == 50 and project.mode == "blind" and project.overlap == 2
    tasks = studio.existing_external_ids(client, connection, project.id)
    assert len(tasks) == 50
    ids = [tasks[f"dwa:{d}"] for d in onet.dwas["dwa_id"][:6]]

    # Blind: no predictions and no model output anywhere in the project's tasks.
    everything = httpx.get(
        f"{connection.url}/api/projects/{project.id}/export",
        params={"exportType": "JSON", "download_all_tasks": "true"},
        headers={"Authorization": f"Token {connection.api_key}"},
        timeout=60,
    ).json()
    assert len(everything) == 50
    assert all(t["predictions"] == [] for t in everything)
    assert not any(MODEL_OUTPUT_KEYS & t["data"].keys() for t in everything)
    assert "why-" not in json.dumps(everything) and RATERS[0] not in json.dumps(everything)

    suffix = uuid.uuid4().hex[:8]
    ann1 = studio.create_annotator(connection, f"ann1-{suffix}@example.com", "Annot-pass-1!x", KEY)
    ann2 = studio.create_annotator(connection, f"ann2-{suffix}@example.com", "Annot-pass-2!x", KEY)
    first = {t: _annotate(connection, ann1.api_key, t, "E1", 0.6) for t in ids}
    second = {t: _annotate(connection, ann2.api_key, t, "E2", 0.8) for t in ids[:4]}
    # An adjudicator marks annotator 1's answer on the third task as ground truth.
    _rest(connection, "PATCH", f"/api/annotations/{first[ids[2]]}/", json={"ground_truth": True})

    annotations_dir, home, out = tmp_path / "annotations", tmp_path / "home", tmp_path / "h.csv"
    pull = ["review", "pull", "--project", title, "--annotations-dir", str(annotations_dir),
            "--out", str(out)]  # fmt: skip
    started = time.monotonic()
    output = _cli(env, *pull)
    assert "6 changed tasks written" in output
    rows = read_ratings(out).astype({"task_id": int})  # extra columns come back as text
    assert len(rows) == 6 + 4 + 6
    assert set(rows["rater"]) == {ann1.rater, ann2.rater, CONSENSUS_RATER}
    human = rows[rows["rater"] == CONSENSUS_RATER].set_index("task_id")
    assert human.loc[ids[0], "consensus"] == "tie" and pd.isna(human.loc[ids[0], "label"])
    assert human.loc[ids[0], "score"] == pytest.approx(0.7)
    assert human.loc[ids[2], "consensus"] == "ground_truth"
    assert human.loc[ids[2], "label"] == "E1"
    assert human.loc[ids[5], "consensus"] == "single"

    # One annotator updates an answer, the other deletes one.
    _rest(connection, "PATCH", f"/api/annotations/{first[ids[0]]}/", ann1.api_key,
          json={"result": _result("E2", 0.9, "changed my mind")})  # fmt: skip
    _rest(connection, "DELETE", f"/api/annotations/{second[ids[3]]}/", ann2.api_key)
    output = _cli(env, *pull)
    assert "2 changed tasks written" in output
    exports = sorted((annotations_dir / studio.project_slug(title)).glob("export-*.json"))
    assert len(exports) == 2
    latest = json.loads(exports[-1].read_text(encoding="utf-8"))
    assert sorted(t["id"] for t in latest["tasks"]) == sorted([ids[0], ids[3]])
    rows = read_ratings(out).astype({"task_id": int}).set_index(["task_id", "rater"])
    assert len(rows) == 6 + 3 + 6
    assert rows.loc[(ids[0], ann1.rater), "label"] == "E2"
    assert rows.loc[(ids[0], ann1.rater), "rationale"] == "changed my mind"
    assert rows.loc[(ids[0], CONSENSUS_RATER), "label"] == "E2"  # both now say E2
    assert (ids[3], ann2.rater) not in rows.index
    assert rows.loc[(ids[3], CONSENSUS_RATER), "consensus"] == "single"
    assert set(rows["item_type"]) == {"dwa"} and set(rows["prompt_version"]) == {"blind"}

    output = _cli(env, *pull)
    assert "no changes since the last pull" in output
    assert len(list((annotations_dir / studio.project_slug(title)).glob("export-*.json"))) == 2
    # Without its checkpoint, a pull compares everything with the stored exports.
    for checkpoint in (home / "labelstudio").glob("*.json"):
        checkpoint.unlink()
    assert "no changes since the last pull" in _cli(env, *pull)
    assert time.monotonic() - started < 60

    status = studio.project_status(connection, title, home, KEY)
    assert (status.tasks, status.annotated, status.done, status.remaining) == (50, 6, 3, 47)
    per_rater = {a.rater: a.submitted for a in status.annotators}
    assert per_rater == {ann1.rater: 6, ann2.rater: 3}
    assert "annotated 6  done 3  remaining 47" in _cli(env, "review", "status", "--project", title)

    # No token and no annotator e-mail in anything written locally.
    secrets = [connection.api_key, ann1.api_key, ann2.api_key, SECRET]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.parent == home / "labelstudio" for p in written)  # the checkpoint
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not any(s in text for s in secrets), path
        if path.is_relative_to(annotations_dir) or path == out:
            assert "@example.com" not in text, path


@pytest.mark.labelstudio
def test_failures_are_one_line_and_leave_local_files_whole(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    connection = label_studio
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    down = studio.StudioConnection(f"http://127.0.0.1:{port}", "token-down-12345")
    with pytest.raises(ReviewError, match="cannot reach Label Studio") as caught:
        studio.project_status(down, "anything")
    assert "\n" not in str(caught.value) and "token-down-12345" not in str(caught.value)

    wrong = studio.StudioConnection(connection.url, "0123456789abcdef-wrong-token")
    with pytest.raises(ReviewError, match="refused the API token") as caught:
        studio.push_tasks(wrong, "x", [])
    assert "wrong-token" not in str(caught.value)

    with pytest.raises(ReviewError, match="no project titled"):
        studio.pull_annotations(
            connection, _unique("missing"), tmp_path / "a", tmp_path / "s", key=KEY
        )

    # A project whose labelling config was edited by hand is refused; local files survive.
    title = _unique("edited")
    ratings = _ratings(onet.dwas["dwa_id"][:5].tolist())
    items = review_items_from_catalog(
        select_contested(ratings, SelectionRule(audit_fraction=1)), ratings, onet
    )
    report = studio.push_tasks(connection, title, [build_task(i, "assisted") for i in items],
                               mode="assisted", overlap=1)  # fmt: skip
    assert report.imported == 5
    with pytest.raises(ReviewError, match="pushed in assisted mode"):
        studio.push_tasks(connection, title, [], mode="blind", overlap=1)
    annotations_dir = tmp_path / "annotations"
    (annotations_dir / "keep.txt").parent.mkdir(parents=True)
    (annotations_dir / "keep.txt").write_text("earlier work", encoding="utf-8")
    out = tmp_path / "ratings.csv"
    out.write_text("item_id,rater,label\nx,y,E1\n", encoding="utf-8")
    edited = build_label_config("assisted").replace(
        "Exposure label (keys 1, 2, 3)", "Exposure label (edited)"
    )
    _rest(connection, "PATCH", f"/api/projects/{report.project.id}/", json={"label_config": edited})
    with pytest.raises(ReviewError, match="changed by hand"):
        studio.pull_annotations(
            connection, title, annotations_dir, tmp_path / "s", out=out, key=KEY
        )
    with pytest.raises(ReviewError, match="changed by hand"):
        studio.push_tasks(connection, title, [], mode="assisted", overlap=1)
    assert out.read_text(encoding="utf-8") == "item_id,rater,label\nx,y,E1\n"
    assert [p.name for p in annotations_dir.rglob("*")] == ["keep.txt"]


@pytest.mark.labelstudio
@pytest.mark.slow
def test_two_thousand_tasks_go_through_in_chunks(
    label_studio: studio.StudioConnection, onet: OnetTables
) -> None:
    dwas = onet.dwas.head(2000)
    tasks = [
        build_task(
            ReviewItem(
                row.dwa_id, row.dwa_title, row.iwa_title, row.gwa_title, (), "audit", "", ()
            ),
            "blind",
        )
        for row in dwas.itertuples()
    ]
    title = _unique("two thousand")
    started = time.monotonic()
    report = studio.push_tasks(label_studio, title, tasks, mode="blind", overlap=1, chunk_size=500)
    first = time.monotonic() - started
    assert (report.imported, report.already_present) == (2000, 0)
    again = studio.push_tasks(label_studio, title, tasks[:1990], mode="blind", overlap=1)
    assert (again.imported, again.already_present) == (0, 1990)
    assert again.project.task_count == 2000
    assert first < 90, f"2,000 tasks took {first:.1f} s"


@pytest.mark.labelstudio
@pytest.mark.browser
def test_annotator_screen_in_headless_chromium(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    ratings = _ratings(onet.dwas["dwa_id"][:3].tolist())
    ratings["rationale"] = ratings["rater"].map(
        {
            RATERS[0]: "Judging visual design needs seeing the work; an LLM adds little.",
            RATERS[1]: "An LLM can summarise a <b>design brief</b> and draft review notes.",
            RATERS[2]: "With image understanding, LLM software could review layouts quickly.",
        }
    )
    items = review_items_from_catalog(
        select_contested(ratings, SelectionRule(audit_fraction=1)), ratings, onet
    )
    title = _unique("screen")
    report = studio.push_tasks(label_studio, title, [build_task(i, "assisted") for i in items],
                               mode="assisted", overlap=1)  # fmt: skip
    email, password = f"screen-{uuid.uuid4().hex[:8]}@example.com", "Screen-pass-1!x"
    studio.create_annotator(label_studio, email, password)
    url = label_studio.url.rstrip("/")
    statements = {i.statement for i in items}
    outside: list[str] = []

    def keep_local(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    # The repository's copy is refreshed only on request; tests never write into the checkout.
    target = tmp_path / "review_screen.png"
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1280, "height": 860},
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )  # fmt: skip
        try:
            context.route("**/*", keep_local)
            page = context.new_page()
            page.goto(f"{url}/user/login/")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{url}/projects/{report.project.id}/data?labeling=1")
            page.get_by_role("radio").first.wait_for(timeout=60_000)
            page.get_by_text("Labeling Instructions").first.wait_for(timeout=10_000)
            page.keyboard.press("Escape")  # the rubric pops up first
            page.get_by_text("Labeling Instructions").first.wait_for(state="hidden")
            shown = [s for s in statements if page.get_by_text(s, exact=True).count()]
            assert len(shown) == 1
            assert page.get_by_role("radio").count() == 3 + 2  # labels, then sure/unsure
            for label in ("E0", "E1", "E2", "sure", "unsure"):
                assert page.locator(f"input[type=radio][name={label}]").count() == 1
            assert page.locator(".ant-slider, input[type=range]").count() >= 1
            assert page.get_by_text("LLM ratings:").count() == 1
            assert page.get_by_text("<b>design brief</b>", exact=False).count() == 1  # escaped
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
        finally:
            context.close()
    assert outside == []
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    if os.environ.get("DWA_RATER_UPDATE_DOCS") == "1":
        (REPO / "docs" / "review_screen.png").write_bytes(png)


# --------------------------------------------------------------------------------------------
# Issue 18: overlap, re-push updates, live agreement, keyed pseudonyms, the Chinese screen


def _next_task(connection: studio.StudioConnection, token: str, project_id: int) -> int:
    """The task the label stream gives an annotator (as the browser asks for it)."""
    return int(_rest(connection, "GET", f"/api/projects/{project_id}/next/", token)["id"])


@pytest.mark.labelstudio
@pytest.mark.slow
def test_overlap_repush_updates_and_live_agreement(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    connection = label_studio
    title = _unique("overlap")
    dwa_ids = onet.dwas["dwa_id"][:10].tolist()
    ratings_frame = _ratings(dwa_ids)
    ratings = write_ratings(ratings_frame, tmp_path / "llm.csv")
    env = _env(connection, tmp_path / "home")
    push = ["review", "push", str(ratings), "--project", title, "--overlap", "2",
            "--audit-fraction", "0", "--lang", "zh"]  # fmt: skip
    assert "created: 8 tasks imported" in _cli(env, *push)
    client, project = studio.open_project(connection, title)
    assert (project.lang, project.overlap) == ("zh", 2)

    # A contested item reaches two annotators through the API: the label stream gives the
    # second annotator the task the first one just annotated (overlap 2), never a third one.
    suffix = uuid.uuid4().hex[:8]
    people = [
        studio.create_annotator(connection, f"o{i}-{suffix}@example.com", f"Overlap-{i}!pass", KEY)
        for i in range(4)
    ]
    first = _next_task(connection, people[0].api_key, project.id)
    _annotate(connection, people[0].api_key, first, "E1", 0.6)
    second = _next_task(connection, people[1].api_key, project.id)
    assert second == first
    _annotate(connection, people[1].api_key, second, "E1", 0.7)
    assert _next_task(connection, people[2].api_key, project.id) != first

    # Three more annotators' answers on every task: A and B agree, C disagrees on most.
    tasks = studio.existing_external_ids(client, connection, project.id)
    ids = [tasks[f"dwa:{d}"] for d in dwa_ids[:8]]
    labels = ["E0", "E1", "E2", "E1", "E0", "E2", "E1", "E0"]
    for n, task_id in enumerate(ids):
        if task_id != first:
            _annotate(connection, people[0].api_key, task_id, labels[n], 0.5, lead_time=10.0)
            _annotate(connection, people[1].api_key, task_id, labels[n], 0.5, lead_time=20.0)
        other = "E2" if labels[n] != "E2" else "E0"
        confidence = "unsure" if n < 3 else "sure"
        _annotate(connection, people[2].api_key, task_id, other if n < 6 else labels[n], 0.5,
                  confidence=confidence, lead_time=30.0)  # fmt: skip
        if n < 4:
            _annotate(connection, people[3].api_key, task_id, labels[n], 0.5, lead_time=5.0)

    home = tmp_path / "home"
    status = studio.project_status(connection, title, home, KEY, margin=0.2, min_items=3)
    assert not status.incremental and status.fetched_tasks == 8
    live = {a.rater: a for a in status.agreement.annotators}
    a, b, c, d = (p.rater for p in people)
    assert live[a].submitted == 8 and live[c].unsure == 3
    assert live[a].lead_time_median_s == pytest.approx(10.0)
    assert live[c].flagged and not live[a].flagged and not live[b].flagged
    assert live[c].agreement_with_consensus == pytest.approx(2 / 8)
    pair = next(p for p in status.agreement.pairs if {p["rater_a"], p["rater_b"]} == {a, b})
    assert pair["n"] == 8 and pair["cohen_kappa"] == pytest.approx(1.0)
    assert status.agreement.overall["krippendorff_alpha_nominal"] is not None
    assert status.agreement.overall["ci"]["krippendorff_alpha_nominal"]["low"] is not None
    output = _cli(env, "review", "status", "--project", title, "--html", str(tmp_path / "s.html"),
                  "--min-items", "3", "--bootstrap", "200")  # fmt: skip
    # Incremental: only tasks the server lists as updated since the snapshot's checkpoint (the
    # Data Manager's date filter errs on the side of listing more, never fewer).
    assert "tasks incrementally" in output
    assert f"{c}" in output and "FLAGGED" in output and "Krippendorff's alpha" in output
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert "Agreement between annotators" in page and c in page
    assert "@example.com" not in page

    # One more answer: status reads only that task.
    _annotate(connection, people[3].api_key, ids[5], "E2", 0.5)
    again = studio.project_status(connection, title, home, KEY, min_items=3)
    assert again.incremental and again.fetched_tasks >= 1
    assert {x.rater: x.submitted for x in again.agreement.annotators}[d] == 5

    # A corrected statement reaches the existing task, which keeps its annotations.
    annotations_dir = tmp_path / "annotations"
    pull = ["review", "pull", "--project", title, "--annotations-dir", str(annotations_dir),
            "--out", str(tmp_path / "h.csv")]  # fmt: skip
    _cli(env, *pull)
    changed = ratings_frame.copy()
    first_dwa = next(k for k, v in tasks.items() if v == ids[0]).split(":", 1)[1]
    fixed = onet.dwas.copy()
    fixed.loc[fixed["dwa_id"] == first_dwa, "dwa_title"] = "Corrected statement."
    corrected = OnetTables(onet.version, fixed, onet.tasks, onet.task_dwas, onet.occupations)
    items = review_items_from_catalog(
        select_contested(changed, SelectionRule(audit_fraction=0)), changed, corrected
    )
    report = studio.push_tasks(connection, title, [build_task(i, "blind", "zh") for i in items],
                               mode="blind", overlap=2, lang="zh")  # fmt: skip
    assert report.imported == 0 and [u.changed for u in report.updated] == [("statement",)]
    task = _rest(connection, "GET", f"/api/tasks/{ids[0]}/")
    assert task["data"]["statement"] == "Corrected statement."
    assert task["data"]["revisions"][-1]["changed"] == ["statement"]
    annotations = _rest(connection, "GET", f"/api/tasks/{ids[0]}/annotations/")
    assert len([x for x in annotations if not x.get("was_cancelled")]) == 4
    assert "1 changed tasks written" in _cli(env, *pull)  # the revision is stored
    rows = read_ratings(tmp_path / "h.csv")
    assert "Corrected statement." in set(rows["item_text"])
    assert set(rows["confidence"].dropna()) == {"sure", "unsure"}

    # Disputed items go to an assisted adjudication project showing every annotator's answer.
    people_rows = rows[rows["rater"] != CONSENSUS_RATER]
    disputed = people_rows.groupby("item_id")["label"].nunique()
    output = _cli(env, "review", "adjudicate", "--project", title, "--ratings", str(ratings))
    assert f"{int((disputed > 1).sum())} tasks imported" in output
    assert f"annotator_disagreement: {int((disputed > 1).sum())}" in output
    _, judged = studio.open_project(connection, f"{title} adjudication")
    assert (judged.mode, judged.overlap) == ("assisted", 1)
    shown = _rest(connection, "GET", f"/api/projects/{judged.id}/export",
                  params={"exportType": "JSON", "download_all_tasks": "true"})  # fmt: skip
    assert any(c in t["data"]["raters_html"] and "[unsure]" in t["data"]["raters_html"]
               for t in shown)  # fmt: skip
    assert all(RATERS[0] in t["data"]["raters_html"] for t in shown)


@pytest.mark.labelstudio
def test_pull_needs_the_key_and_converts_old_exports(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    connection = label_studio
    title = _unique("keys")
    ratings = write_ratings(_ratings(onet.dwas["dwa_id"][:3].tolist()), tmp_path / "llm.csv")
    env = _env(connection, tmp_path / "home")
    _cli(env, "review", "push", str(ratings), "--project", title, "--audit-fraction", "1")
    client, project = studio.open_project(connection, title)
    email = f"key-{uuid.uuid4().hex[:8]}@example.com"
    annotator = studio.create_annotator(connection, email, "Key-pass-1!x", KEY)
    task_id = next(iter(studio.existing_external_ids(client, connection, project.id).values()))
    _annotate(connection, annotator.api_key, task_id, "E1", 0.5)

    annotations_dir = tmp_path / "annotations"
    folder = annotations_dir / studio.project_slug(title)
    folder.mkdir(parents=True)
    # An export of the earlier format: unkeyed SHA-256 pseudonyms, reversible from the e-mail.
    old_name = hashlib.sha256(email.encode()).hexdigest()[:10]
    old = {
        "format": "dwa_rater.labelstudio_export/1",
        "project": {"title": title, "id": project.id, "uid": project.uid, "mode": "blind",
                    "overlap": 2},
        "annotators": {str(annotator.user_id): f"annotator-{old_name}"},
        "tasks": [],
    }  # fmt: skip
    (folder / "export-2000-01-01T000000.000000Z.json").write_text(json.dumps(old))
    pull = ["review", "pull", "--project", title, "--annotations-dir", str(annotations_dir),
            "--out", str(tmp_path / "h.csv")]  # fmt: skip

    without = {k: v for k, v in env.items() if k != PSEUDONYM_KEY_ENV}
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, pull, env={**without, PSEUDONYM_KEY_ENV: ""})
    assert result.exit_code != 0 and PSEUDONYM_KEY_ENV in str(result.exception)
    assert "secrets.token_hex" in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "h.csv").exists()

    output = _cli(env, *pull)
    assert "converted the pseudonyms" in output
    converted = json.loads((folder / "export-2000-01-01T000000.000000Z.json").read_text())
    assert converted["annotators"][str(annotator.user_id)] == annotator.rater
    assert converted["pseudonyms"] == {"scheme": "hmac-sha256", "key_id": KEY.key_id}
    rows = read_ratings(tmp_path / "h.csv")
    assert set(rows["rater"]) == {annotator.rater, CONSENSUS_RATER}
    # The pseudonym cannot be reproduced from the e-mail alone.
    assert annotator.rater.removeprefix("annotator-") not in {
        hashlib.sha256(email.encode()).hexdigest()[:12],
        hashlib.sha256(email.lower().encode()).hexdigest()[:12],
    }
    assert make_key("another-key-0123456789").pseudonym(email) != annotator.rater
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert SECRET not in text and email not in text, path


@pytest.mark.labelstudio
@pytest.mark.browser
def test_chinese_screen_in_headless_chromium(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    # The DWA with the most linked task statements among the first 40, so the count shows.
    context = linked_context(onet, onet.dwas["dwa_id"][:40].tolist())
    dwa_id = max(context, key=lambda k: context[k].n_tasks)
    assert context[dwa_id].n_tasks > 10
    written = {  # written by hand for this test, standing in for a model's translation
        "4.A.1.a.1.I02.D04": "阅读工单或其他说明，以确定产品规格或材料要求。",
    }
    assert dwa_id in written, f"O*NET changed: translate {dwa_id} for the test"
    ratings = _ratings([dwa_id])
    translations = {dwa_id: Translation(written[dwa_id], "machine translation (test)")}
    items = review_items_from_catalog(
        select_contested(ratings, SelectionRule(audit_fraction=1)), ratings, onet,
        translations=translations,
    )  # fmt: skip
    title = _unique("screen zh")
    report = studio.push_tasks(label_studio, title, [build_task(i, "blind", "zh") for i in items],
                               mode="blind", overlap=2, lang="zh")  # fmt: skip
    email, password = f"zh-{uuid.uuid4().hex[:8]}@example.com", "Screen-pass-2!x"
    studio.create_annotator(label_studio, email, password)
    url = label_studio.url.rstrip("/")
    outside: list[str] = []

    def keep_local(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    target = tmp_path / "review_screen_zh.png"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1280, "height": 1560},
            locale="zh-CN",
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )  # fmt: skip
        try:
            browser.route("**/*", keep_local)
            page = browser.new_page()
            page.goto(f"{url}/user/login/")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{url}/projects/{report.project.id}/data?labeling=1")
            page.get_by_role("radio").first.wait_for(timeout=60_000)
            page.keyboard.press("Escape")  # the rubric pops up first
            page.wait_for_timeout(500)
            assert page.get_by_text(items[0].statement, exact=True).count() == 1
            assert page.get_by_text(written[dwa_id]).count() == 1
            assert page.get_by_text("机器翻译，仅供参考", exact=False).count() >= 1
            assert page.get_by_text("与此活动关联的 O*NET 任务陈述", exact=False).count() == 1
            more = context[dwa_id].n_tasks - 10
            assert page.get_by_text(f"另有 {more} 条", exact=False).count() == 1
            assert page.get_by_text(items[0].tasks[0], exact=False).count() == 1
            assert page.get_by_text("无暴露", exact=False).count() >= 1
            assert page.get_by_role("radio").count() == 5  # E0/E1/E2 + sure/unsure
            assert page.get_by_text("不确定", exact=False).count() >= 1
            slider = page.locator(".ant-slider, input[type=range]")
            assert slider.count() >= 1
            page.keyboard.press("2")  # E1
            page.keyboard.press("n")  # unsure
            page.wait_for_timeout(300)
            assert page.locator("input[type=radio][name=E1]").is_checked()
            assert page.locator("input[type=radio][name=unsure]").is_checked()
            page.screenshot(path=str(target), full_page=True)
        finally:
            browser.close()
    assert outside == []
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    if os.environ.get("DWA_RATER_UPDATE_DOCS") == "1":
        (REPO / "docs" / "review_screen_zh.png").write_bytes(png)


@pytest.mark.labelstudio
def test_crosswalk_review_round_trip(
    label_studio: studio.StudioConnection, onet: OnetTables, tmp_path: Path
) -> None:
    """A proposed crosswalk goes to Label Studio; two reviewers' ticks come back as overrides
    that `crosswalk build` applies."""
    from dwa_rater.indices.crosswalk import apply_overrides, read_overrides

    codes = onet.occupations["onetsoc_code"].tolist()
    rows = [
        {"category": category, "category_name": name, "rank": rank,
         "onetsoc_code": codes[start + rank], "onet_title": f"t{rank}",
         "similarity": 0.9, "weight": 1 / 3, "method": "embedding", "taxonomy": "zhaopin"}
        for category, name, start in (("4010200", "销售业务", 0), ("4000000", EVIL, 10))
        for rank in (1, 2, 3)
    ]  # fmt: skip
    crosswalk = tmp_path / "crosswalk.csv"
    pd.DataFrame(rows).to_csv(crosswalk, index=False)
    env = _env(connection := label_studio, tmp_path / "home")
    title = _unique("crosswalk")
    output = _cli(env, "review", "crosswalk-push", str(crosswalk), "--project", title,
                  "--overlap", "2")  # fmt: skip
    assert "created: 2 categories imported, 0 already there" in output
    output = _cli(env, "review", "crosswalk-push", str(crosswalk), "--project", title)
    assert "kept: 0 categories imported, 2 already there" in output
    # an activity-review command refuses the crosswalk project (its marker differs)
    with pytest.raises(ReviewError, match="not made by dwa_rater"):
        studio.open_project(connection, title)

    client = studio.connect(connection)
    project = next(p for p in client.projects.list(title=title) if p.title == title)
    tasks = {t["data"]["category"]: t for t in _rest(
        connection, "GET", f"/api/tasks/?project={project.id}&page_size=10")["tasks"]}  # fmt: skip
    assert "<script>" not in tasks["4000000"]["data"]["candidates_html"]
    suffix = uuid.uuid4().hex[:8]
    one = studio.create_annotator(connection, f"cw1-{suffix}@example.com", "Annot-pass-1!x", KEY)
    two = studio.create_annotator(connection, f"cw2-{suffix}@example.com", "Annot-pass-2!x", KEY)

    def tick(token: str, category: str, choices: list[str], typed: str = "") -> None:
        result = [{"from_name": "match", "to_name": "category", "type": "choices",
                   "value": {"choices": choices}}]  # fmt: skip
        if typed:
            result.append({"from_name": "other", "to_name": "category", "type": "textarea",
                           "value": {"text": [typed]}})  # fmt: skip
        _rest(connection, "POST", f"/api/tasks/{tasks[category]['id']}/annotations/", token,
              json={"result": result, "lead_time": 3.0})  # fmt: skip

    tick(one.api_key, "4010200", ["1", "3"])
    tick(two.api_key, "4010200", ["1"], typed=codes[50])
    tick(one.api_key, "4000000", ["none"])
    tick(two.api_key, "4000000", ["none"])

    out, decisions = tmp_path / "overrides.csv", tmp_path / "decisions.csv"
    output = _cli(env, "review", "crosswalk-pull", "--project", title, "--out", str(out),
                  "--decisions", str(decisions))  # fmt: skip
    assert "4 annotations on 2 categories: 2 decided" in output
    overrides = read_overrides(out)
    sales = overrides[overrides["category"] == "4010200"]
    # candidate 1 by both, candidate 3 and the typed code by one of two: all reach half
    assert sorted(sales["onetsoc_code"]) == sorted([codes[1], codes[3], codes[50]])
    assert sales["weight"].tolist() == pytest.approx([1 / 3] * 3)
    assert overrides.loc[overrides["category"] == "4000000", "weight"].tolist() == [0.0]
    written = decisions.read_text(encoding="utf-8")
    assert "example.com" not in written and KEY.pseudonym(f"cw1-{suffix}@example.com") in written
    applied = apply_overrides(pd.DataFrame(rows), overrides, onet.occupations)
    assert set(applied["category"]) == {"4010200"} and set(applied["method"]) == {"override"}
