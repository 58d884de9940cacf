"""Score ``dwa-rater postings map`` on hand-labelled Chinese lines from 2019 postings.

The labels (``scripts/posting_line_labels.csv``) name each line by the SHA-256 of its text, not
by the text: the postings are third-party scrapes that stay out of the repository
(``docs/data.md``, job postings). This script finds the lines again in
``<data dir>/postings_cn/``, writes one posting per line (description ``岗位职责：`` + the
line, as the issue's held-out check does), runs ``dwa-rater postings map POSTINGS --out-dir
DIR`` with its defaults (or the options given after ``--``), and reports on
``DIR/posting_dwas.parquet``:

- ``top1``: share of duty lines whose highest-weighted DWA is acceptable;
- ``weight_precision``: share of the mapped weight (over duty lines) on acceptable DWAs;
- ``recall``: share of duty lines with at least one acceptable DWA among their matches;
- ``unmapped_duty``: share of duty lines with no DWA;
- ``non_duty_unmapped``: non-duty lines (requirements, benefits, boilerplate) left unmapped.

With ``--choose "OPTIONS"`` the second stage (``dwa-rater postings choose MAP_DIR --out-dir
DIR2 OPTIONS``, an LLM rater choosing among the first stage's candidates) runs too and both
stages are scored.

Usage::

    DWA_RATER_DATA_DIR=../shared/data python scripts/eval_posting_lines.py [--split test] \\
        [--choose "--base-url http://127.0.0.1:8000/v1 --model M"] [-- --threshold 0.84]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from dwa_rater.embedding import text_sha256
from dwa_rater.indices.duties import split_duties

LABELS = Path(__file__).with_name("posting_line_labels.csv")


def all_lines(data_dir: Path) -> dict[str, str]:
    """sha256 -> text of every line of both 2019 samples (no section or line filtering)."""
    folder = data_dir / "postings_cn"
    texts = list(pd.read_csv(folder / "zhilian_data_analysis_2019_sample.csv")["requirements"])
    texts += list(pd.read_csv(folder / "51job_bigdata_2019_sample.csv")["description"])
    found: dict[str, str] = {}
    for text in texts:
        for line in split_duties(
            text, drop_requirements=False, drop_other_sections=False, drop_non_duty_lines=False
        ):
            found.setdefault(text_sha256(line), line)
    return found


def postings_for(labels: pd.DataFrame, lines: dict[str, str]) -> pd.DataFrame:
    """One posting per labelled line, description ``岗位职责：`` + the line."""
    missing = [sha for sha in labels["line_sha256"] if sha not in lines]
    if missing:
        raise SystemExit(f"{len(missing)} labelled lines not found in the samples")
    rows = len(labels)
    return pd.DataFrame(
        {
            "posting_id": [f"L{i:03d}" for i in range(rows)],
            "date": "2019-09-13",
            "city_code": "110000",
            "city_name": "北京",
            "occupation_category": "大数据",
            "title": "",
            "description": ["岗位职责：" + lines[sha] for sha in labels["line_sha256"]],
            "salary_min": "",
            "salary_max": "",
            "education": "",
            "experience_years_min": "",
        }
    )


def score(labels: pd.DataFrame, weights: pd.DataFrame) -> dict[str, float]:
    """The figures of the module docstring, from posting_dwas (posting_id, dwa_id, weight)."""
    labels = labels.assign(posting_id=[f"L{i:03d}" for i in range(len(labels))])
    acceptable = {
        row.posting_id: set(str(row.acceptable_dwas).split(";")) - {""}
        for row in labels.itertuples()
    }
    duty = labels[labels["kind"] == "duty"]
    mapped = weights[weights["weight"] > 0]
    top1 = hits = weight_ok = weight_all = unmapped = 0.0
    for posting in duty["posting_id"]:
        rows = mapped[mapped["posting_id"] == posting].sort_values("weight", ascending=False)
        if rows.empty:
            unmapped += 1
            continue
        good = rows["dwa_id"].isin(acceptable[posting])
        top1 += bool(good.iloc[0])
        hits += bool(good.any())
        weight_ok += float(rows.loc[good, "weight"].sum())
        weight_all += float(rows["weight"].sum())
    other = labels[labels["kind"] != "duty"]
    other_unmapped = sum(p not in set(mapped["posting_id"]) for p in other["posting_id"])
    n = len(duty)
    return {
        "duty_lines": n,
        "top1": top1 / n,
        "weight_precision": weight_ok / weight_all if weight_all else float("nan"),
        "recall": hits / n,
        "unmapped_duty": unmapped / n,
        "non_duty_lines": len(other),
        "non_duty_unmapped": other_unmapped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "test", "all"], default="all")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--choose", default=None, help="options for postings choose (quoted)")
    parser.add_argument("map_options", nargs="*", help="options passed to postings map")
    options = parser.parse_args()
    data_dir = Path(os.environ.get("DWA_RATER_DATA_DIR", "../shared/data"))
    labels = pd.read_csv(options.labels, dtype=str, keep_default_na=False)
    if options.split != "all":
        labels = labels[labels["split"] == options.split].reset_index(drop=True)
    postings = postings_for(labels, all_lines(data_dir))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "postings.csv"
        postings.to_csv(path, index=False)
        command = [sys.executable, "-m", "dwa_rater", "postings", "map", str(path)]
        command += ["--out-dir", str(Path(folder) / "map"), *options.map_options]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        stages = {"embedding": pd.read_parquet(Path(folder) / "map" / "posting_dwas.parquet")}
        if options.choose is not None:
            command = [sys.executable, "-m", "dwa_rater", "postings", "choose"]
            command += [str(Path(folder) / "map"), "--out-dir", str(Path(folder) / "choose")]
            command += ["--no-progress", *shlex.split(options.choose)]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            chosen = pd.read_parquet(Path(folder) / "choose" / "posting_dwas.parquet")
            stages["llm choice"] = chosen
    for stage, weights in stages.items():
        print(f"# {stage}")
        for key, value in score(labels, weights).items():
            print(f"{key:18s} {value:.3f}" if isinstance(value, float) else f"{key:18s} {value}")


if __name__ == "__main__":
    main()
