"""Benchmark: coverage and width of PPI intervals against human-only intervals (issue 15).

On the published Eloundou et al. task labels (the ``_dev`` half here), each replicate draws
``--size`` tasks, keeps the human label on a random 5%, 10% or 20%, and estimates the mean
beta with human labels only (classical), PPI++ with GPT-4, and cross-fitted PPI++ with GPT-4
and GPT-4 on the alternative rubric; a weighted row (Core tasks 2, others 1) checks the weighted
mean. It reports the share of replicates whose 95% interval covers the replicate's all-human
mean, the mean width, and the width relative to the classical interval. Then it times
``dwa-rater estimate --by replicate`` on a 100 x 3,000 replicate file written like the held-out
check's, as a ratio against a bare ``pandas.read_csv`` of the same file in the same run.

    flock /tmp/dwa_cpu.lock python scripts/bench_ppi.py --replicates 500
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.inference.combine import cross_ppi_mean
from dwa_rater.inference.ppi import MeanInterval, classical_mean, ppi_mean
from dwa_rater.inference.simulate import replicate_ratings
from dwa_rater.reference.labelsets import eloundou_ratings, eloundou_tasks

BETA = {"E0": 0.0, "E1": 1.0, "E2": 0.5}


def _interval_rows(
    tasks: pd.DataFrame, replicates: int, size: int, shares: list[float], seed: int
) -> pd.DataFrame:
    human = tasks["human_exposure_agg"].map(BETA).to_numpy(dtype=float)
    gpt4 = tasks["gpt4_exposure"].map(BETA).to_numpy(dtype=float)
    alt = tasks["gpt4_exposure_alt_rubric"].map(BETA).to_numpy(dtype=float)
    weight = tasks["core_weight"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    records = []
    for share in shares:
        n_gold = round(share * size)
        for replicate in range(replicates):
            chosen = rng.choice(len(tasks), size=size, replace=False)
            gold = np.zeros(size, dtype=bool)
            gold[rng.choice(size, size=n_gold, replace=False)] = True
            y, p1, p2, w = human[chosen], gpt4[chosen], alt[chosen], weight[chosen]
            target = y.mean()
            weighted_target = np.average(y, weights=w)
            both = np.column_stack([p1, p2])
            results: dict[str, tuple[MeanInterval, float]] = {
                "human only": (classical_mean(y[gold]), target),
                "ppi++ gpt4": (ppi_mean(y[gold], p1[gold], p1[~gold]), target),
                "cross-ppi++ gpt4 + gpt4_alt": (
                    cross_ppi_mean(y[gold], both[gold], both[~gold], seed=replicate),
                    target,
                ),
                "human only, Core-weighted": (
                    classical_mean(y[gold], weights=w[gold]),
                    weighted_target,
                ),
                "ppi++ gpt4, Core-weighted": (
                    ppi_mean(
                        y[gold], p1[gold], p1[~gold], weights=w[gold], weights_unlabelled=w[~gold]
                    ),
                    weighted_target,
                ),
            }
            for method, (result, truth) in results.items():
                records.append(
                    {
                        "share": share,
                        "method": method,
                        "covered": result.ci_low <= truth <= result.ci_high,
                        "width": result.width,
                        "n_effective": result.n_effective,
                        "naive_error": p1.mean() - target,
                        "replicate": replicate,
                    }
                )
    frame = pd.DataFrame.from_records(records)
    baseline = {"": "human only", ", Core-weighted": "human only, Core-weighted"}
    frame["reference"] = frame["method"].map(
        lambda m: baseline[", Core-weighted" if m.endswith("Core-weighted") else ""]
    )
    widths = frame.set_index(["share", "replicate", "method"])["width"]
    frame["width_ratio"] = [
        row.width / widths[(row.share, row.replicate, row.reference)] for row in frame.itertuples()
    ]
    return frame


def _time_cli(tasks: pd.DataFrame, folder: Path) -> dict[str, float]:
    replicated = replicate_ratings(
        eloundou_ratings(tasks), "human", ["gpt4"], replicates=100, size=3000, seed=7
    )
    path = folder / "replicates.csv"
    replicated.to_csv(path, index=False)
    started = time.perf_counter()
    pd.read_csv(path, dtype=str, keep_default_na=False)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dwa_rater", "estimate", str(path), "--gold", "human",
         "--predicted", "gpt4", "--measure", "beta", "--by", "replicate",
         "--out", str(folder / "estimate.csv")],
        check=True, capture_output=True, env=os.environ.copy(),
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dwa_rater", "--help"], check=True, capture_output=True)
    startup = time.perf_counter() - started
    return {"rows": len(replicated), "read_csv_s": baseline, "estimate_s": elapsed,
            "cli_startup_s": startup}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("DWA_RATER_DATA_DIR"))
    parser.add_argument("--file", default="exposure/eloundou_2023/full_labelset_dev.tsv")
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI timing")
    args = parser.parse_args()
    if args.data_dir is None:
        parser.error("give --data-dir or set DWA_RATER_DATA_DIR")
    tasks = eloundou_tasks(Path(args.data_dir) / args.file)
    human = tasks["human_exposure_agg"].map(BETA)
    print(
        f"{len(tasks)} tasks; mean beta: human {human.mean():.3f}, gpt4 "
        f"{tasks['gpt4_exposure'].map(BETA).mean():.3f}, gpt4_alt "
        f"{tasks['gpt4_exposure_alt_rubric'].map(BETA).mean():.3f}"
    )
    frame = _interval_rows(tasks, args.replicates, args.size, [0.05, 0.1, 0.2], args.seed)
    summary = frame.groupby(["share", "method"], sort=False).agg(
        coverage=("covered", "mean"),
        mean_width=("width", "mean"),
        width_ratio=("width_ratio", "mean"),
        n_effective=("n_effective", "mean"),
    )
    print(f"{args.replicates} replicates of {args.size} tasks, 95% intervals, measure beta")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if not args.no_cli:
        with tempfile.TemporaryDirectory() as folder:
            timing = _time_cli(tasks, Path(folder))
        print(
            f"estimate --by replicate on {timing['rows']:,} rows: {timing['estimate_s']:.1f} s "
            f"= {timing['estimate_s'] / timing['read_csv_s']:.1f}x a bare pandas.read_csv of "
            f"the file ({timing['read_csv_s']:.2f} s); CLI start-up alone "
            f"{timing['cli_startup_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
