"""A silver check of ``dwa-rater crosswalk build`` on Zhaopin job types whose English name is an
O*NET occupation title.

No Zhaopin/CSCO -> O*NET crosswalk is published, so there is no gold standard. The Zhaopin job
types carry English names; where one equals an O*NET-SOC title (lower case, letters only, a
plural ``s`` dropped: e.g. 律师 "Lawyer" -> 23-1011.00 Lawyers), that occupation is the obvious
match. This script builds the crosswalk of the level-2 job types with the command's defaults
(or reads ``--crosswalk``) and reports how often the obvious match is ranked first and within
the top k. These are the easiest categories, so the figures bound the crosswalk's quality from
above; they do not replace review.

``--choose "OPTIONS"`` also runs the LLM stage (``dwa-rater crosswalk choose`` with OPTIONS,
e.g. ``"--base-url http://127.0.0.1:8080/v1 --model qwen"``; ``""`` for the embedded model) on
those job types' proposals (top 8) and scores its choice the same way. A category the rater
answered ``none`` for counts as a miss.

Usage::

    DWA_RATER_DATA_DIR=../shared/data python scripts/eval_crosswalk.py [--crosswalk FILE]
        [--choose "OPTIONS"]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd


def normalise(title: str) -> str:
    words = re.sub(r"[^a-z ]", "", title.lower()).split()
    return " ".join(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words)


def silver_pairs(data_dir: Path) -> pd.DataFrame:
    """Level-2 job types whose English name equals an O*NET title: category, cn_name, codes."""
    types = pd.read_csv(data_dir / "occupations_cn" / "zhaopin_job_types.csv", dtype=str)
    occupations = pd.read_csv(data_dir / "onet" / "Occupation Data.txt", sep="\t", dtype=str)
    codes: dict[str, set[str]] = {}
    for code, title in zip(occupations["O*NET-SOC Code"], occupations["Title"], strict=True):
        codes.setdefault(normalise(title), set()).add(code)
    level2 = types[types["level"] == "2"].copy()
    level2["key"] = level2["en_name"].fillna("").map(normalise)
    found = level2[level2["key"].isin(codes)]
    return pd.DataFrame(
        {
            "category": found["code"],
            "cn_name": found["cn_name"],
            "en_name": found["en_name"],
            "codes": [codes[k] for k in found["key"]],
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("DWA_RATER_DATA_DIR", ""))
    parser.add_argument("--crosswalk", type=Path, help="An existing level-2 crosswalk to score.")
    parser.add_argument("--choose", help="Options of `crosswalk choose`: score the LLM stage.")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    pairs = silver_pairs(data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        crosswalk = args.crosswalk
        if crosswalk is None:
            crosswalk = Path(tmp) / "crosswalk.csv"
            top_k = ["--top-k", "8"] if args.choose is not None else []
            subprocess.run(
                [sys.executable, "-m", "dwa_rater", "crosswalk", "build", "--taxonomy",
                 "zhaopin", "--level", "2", "--data-dir", str(data_dir), "--onet-dir",
                 str(data_dir / "onet"), "--out", str(crosswalk), *top_k],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        table = pd.read_csv(crosswalk, dtype={"category": str, "onetsoc_code": str})
        score(table, pairs, "embedding")
        if args.choose is not None:
            proposal = Path(tmp) / "silver_proposal.csv"
            silver = table[table["category"].isin(set(pairs["category"]))]
            silver.to_csv(proposal, index=False, encoding="utf-8-sig")
            chosen = Path(tmp) / "chosen.csv"
            subprocess.run(
                [sys.executable, "-m", "dwa_rater", "crosswalk", "choose", str(proposal),
                 "--out", str(chosen), "--onet-dir", str(data_dir / "onet"), "--no-progress",
                 *shlex.split(args.choose)],
                check=True,
            )  # fmt: skip
            score(pd.read_csv(chosen, dtype={"category": str, "onetsoc_code": str}), pairs, "llm")
    return 0


def score(table: pd.DataFrame, pairs: pd.DataFrame, stage: str) -> None:
    """Print how often the obvious match has the highest weight and is listed at all."""
    print(f"# {stage}")
    first = within = 0
    for row in pairs.itertuples(index=False):
        ranked = table[table["category"] == row.category].sort_values(
            ["weight", "rank"], ascending=[False, True]
        )
        top = ranked["onetsoc_code"].iloc[0] if len(ranked) else ""
        first += top in row.codes
        within += bool(set(ranked["onetsoc_code"]) & row.codes)
        if top not in row.codes:
            title = ranked["onet_title"].iloc[0] if len(ranked) else "(none)"
            print(f"  miss: {row.cn_name} ({row.en_name}) -> {title}")
    k = int(table["rank"].max())
    n = len(pairs)
    print(f"{n} job types named like an O*NET title: top-1 {first}/{n} = {first / n:.2f}, "
          f"top-{k} {within}/{n} = {within / n:.2f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
