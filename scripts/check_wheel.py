"""Use an installed dwa_rater from outside the checkout (run by scripts/check_wheel.sh).

Checks, with the clean venv's interpreter and from a folder that is not the repository:
the package comes from site-packages and finds its rubrics there; ``dwa-rater --version`` and
``--help`` work; ``dwa-rater rate`` rates 3 DWAs through a loopback fake OpenAI server; and
``dwa_rater.rate(items_df, raters=[{...}])`` called inside ``asyncio.run(...)`` returns a
DataFrame with the three item ids labelled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

IDS = ["4.A.1.a.1.I01.D01", "4.A.2.b.1.I11.D01", "4.A.3.a.3.I05.D06"]


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"check_wheel: {message}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--onet", type=Path, required=True)
    parser.add_argument("--site", type=Path, required=True, help="the clean venv")
    args = parser.parse_args()

    import dwa_rater
    from dwa_rater.resources import packaged_prompts_dir
    from dwa_rater.testing.fake_openai import FakeOpenAIServer

    site = args.site.resolve()
    check(Path(dwa_rater.__file__).resolve().is_relative_to(site), f"imported {dwa_rater.__file__}")
    prompts = packaged_prompts_dir().resolve()
    check(prompts.is_relative_to(site), f"rubrics read from {prompts}, not the install")
    check((prompts / "exposure" / "v1" / "system.md").is_file(), "exposure@v1 not installed")
    from dwa_rater.resources import annotation_text

    check("E1" in annotation_text("guidelines.md"), "annotators' guidelines not installed")

    exe = str(site / "bin" / "dwa-rater")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    check(version.returncode == 0, f"--version failed: {version.stderr}")
    check(version.stdout.strip() == f"dwa-rater {dwa_rater.__version__}", version.stdout)
    helped = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    check(helped.returncode == 0 and "rate" in helped.stdout, f"--help failed: {helped.stderr}")

    with FakeOpenAIServer() as server:
        rated = subprocess.run(
            [exe, "rate", "--onet-dir", str(args.onet), "--ids", ",".join(IDS),
             "--base-url", server.base_url, "--model", "fake-model",
             "--out", "out/ratings.csv", "--no-progress"],
            capture_output=True, text=True, check=False, env=os.environ.copy(),
        )  # fmt: skip
        check(rated.returncode == 0, f"dwa-rater rate failed: {rated.stderr}")
        from dwa_rater.store import read_ratings

        table = read_ratings(Path("out/ratings.csv"))
        check(sorted(table["item_id"]) == sorted(IDS), f"CLI rated {list(table['item_id'])}")
        print(f"   CLI: {len(table)} ratings of {table['item_id'].nunique()} DWAs")

        items = dwa_rater.dwa_items(dwa_rater.load_onet(args.onet))
        items = items[items["id"].isin(IDS)]
        rater = {"name": "fake", "base_url": server.base_url, "model": "fake-model"}

        async def in_a_running_loop() -> object:
            return dwa_rater.rate(items, raters=[rater])

        frame = asyncio.run(in_a_running_loop())
    import pandas as pd

    check(isinstance(frame, pd.DataFrame), f"rate returned {type(frame)}")
    assert isinstance(frame, pd.DataFrame)
    labelled = frame[frame["status"] == "ok"].dropna(subset=["label"])
    check(sorted(labelled["item_id"]) == sorted(IDS), f"API labelled {list(labelled['item_id'])}")
    print(f"   API inside asyncio.run: {len(labelled)} labelled rows, {sorted(frame['label'])}")


if __name__ == "__main__":
    main()
