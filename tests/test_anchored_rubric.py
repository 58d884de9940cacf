"""The anchored rubric: items shown with the most similar labelled statements."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dwa_rater.cache import cache_key
from dwa_rater.config import RaterSpec
from dwa_rater.embedding import EmbeddingCache
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.prompts import load_prompt, render_user_message
from dwa_rater.reference.anchors import anchor_items
from dwa_rater.reference.rater import ReferenceRater, reference_from_frame
from dwa_rater.runs import execute_run, plan_raters
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.encoders import KeywordEncoder
from dwa_rater.testing.fake_openai import FakeOpenAIServer

#: (item_id, occupation, text, human label): physical work E0, writing E1, data work E2.
REFERENCE = [
    ("1", "A", "Lift boxes and repair machines", "E0"),
    ("3", "B", "Write reports and draft letters", "E1"),
    ("4", "B", "Draft memos and summarise meetings", "E1"),
    ("5", "C", "Analyse data with software", "E2"),
    ("6", "C", "Analyse sales data", "E2"),
    ("7", "A", "Repair engines", "E0"),
    ("8", "B", "Write summaries", "E1"),
]


def reference_frame() -> pd.DataFrame:
    return pd.DataFrame(
        REFERENCE, columns=["item_id", "onetsoc_code", "item_text", "label"]
    ).assign(rater="human", status="ok")


ITEMS = [
    Item(item_id="3", item_type="task", text="Write reports and draft letters"),
    Item(item_id="n1", item_type="task", text="Analyse data"),
]


def test_anchored_rubric_keeps_the_rubric_prefix() -> None:
    plain = load_prompt("exposure", "v1")
    anchored = load_prompt("exposure-anchored", "v1")
    assert anchored.system == plain.system
    assert anchored.output == plain.output
    assert anchored.scale is not None and plain.scale is not None
    assert anchored.scale.labels == plain.scale.labels


def test_examples_never_come_from_the_items_own_occupation(tmp_path: Path) -> None:
    reference = reference_from_frame(reference_frame(), "human", sha256="abc")
    rater = ReferenceRater(
        reference, EmbeddingCache(tmp_path, KeywordEncoder()), k=2, exclude="onetsoc_code"
    )
    own, new = anchor_items(ITEMS, rater)
    assert not {"3", "4", "8"} & set(own.exemplar_ids.split("|"))
    assert set(new.exemplar_ids.split("|")) == {"5", "6"}
    assert '"Analyse sales data" -> E2' in new.examples
    assert len(new.exemplar_sha256) == 64 and new.exemplar_sha256 != own.exemplar_sha256
    message = render_user_message(load_prompt("exposure-anchored"), [("1", new)])
    assert message.index("[1] Analyse data") < message.index("examples labelled by people")


def test_anchored_rater_records_and_keys_its_exemplars(tmp_path: Path) -> None:
    reference_frame().to_csv(tmp_path / "reference.csv", index=False)
    retry = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.05)
    with FakeOpenAIServer() as server:
        spec = RaterSpec(
            name="anchored",
            base_url=server.base_url,
            model="fake-model",
            rubric="exposure-anchored@v1",
            reference=str(tmp_path / "reference.csv"),
            k=2,
        )
        result = execute_run(
            ITEMS,
            [spec],
            out=tmp_path / "r.csv",
            cache_dir=tmp_path / "cache",
            environ={},
            retry=retry,
            encoder=KeywordEncoder(),
        )
        bodies = [r.body for r in server.requests if r.body and "messages" in r.body]
    assert result.progress.done == 2
    rows = read_ratings(tmp_path / "r.csv").set_index("item_id")
    assert not {"3", "4", "8"} & set(rows.loc["3", "exemplar_ids"].split("|"))
    assert rows["exemplar_sha256"].str.len().eq(64).all()
    assert rows["prompt_name"].eq("exposure-anchored").all()
    sent = json.dumps(bodies)
    assert "examples labelled by people" in sent and "Analyse sales data" in sent
    # the same items without exemplars are other cache entries
    plain = Item(item_id="n1", item_type="task", text="Analyse data")
    anchored = anchor_items(
        [plain],
        ReferenceRater(
            reference_from_frame(reference_frame(), "human"),
            EmbeddingCache(tmp_path / "v", KeywordEncoder()),
            k=2,
        ),
    )[0]
    (plan,) = plan_raters([spec], Path(__file__).resolve().parents[1] / "prompts")
    assert cache_key(plan.key_parts, plain, 0) != cache_key(plan.key_parts, anchored, 0)
    assert pd.notna(rows.loc["n1", "label"])
