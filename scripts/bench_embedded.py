"""Benchmark the embedded model (SmolLM2-135M via llama.cpp) through the tool.

Measures, on a seeded sample of DWAs, in one run and one job at a time (2 cores):
1. prompt tokens per item with the real rubric at K=1 and K=20 items per request, and how many
   K=20 items came from the batch answer rather than a one-by-one re-ask;
2. how far the labels of the same items agree between K=1 and the K=20 batch answers (Cohen's
   kappa, and the share of label changes between neighbours inside batches);
3. generation tokens/s through the tool against llama.cpp itself on this machine: the same
   requests (messages and grammar) sent to ``llama_cpp.Llama`` in-process, and plain
   generation of 128 tokens;
4. minutes to rate all 2,087 DWAs, extrapolated from the sample.

    DWA_RATER_DATA_DIR=../shared/data .venv/bin/python scripts/bench_embedded.py --sample 40
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from dwa_rater import catalog
from dwa_rater.agreement import cohen_kappa
from dwa_rater.config import default_rater
from dwa_rater.llm.embedded import locate_model
from dwa_rater.runs import execute_run
from dwa_rater.store import read_ratings


def llama_direct_tokens_per_s(n_tokens: int = 128) -> float:
    """Plain generation speed of llama.cpp itself (no grammar, short prompt), 2 threads."""
    from llama_cpp import Llama

    model = Llama(model_path=str(locate_model()), n_ctx=2048, n_threads=2, verbose=False)
    model.create_completion("The history of labour markets", max_tokens=8)  # warm-up
    start = time.perf_counter()
    out = model.create_completion(
        "The history of labour markets", max_tokens=n_tokens, temperature=0.0
    )
    elapsed = time.perf_counter() - start
    return out["usage"]["completion_tokens"] / elapsed


def llama_direct_same_requests(items: list) -> tuple[float, float]:
    """The tool's own K=1 requests (same messages, same grammar) sent to ``llama_cpp.Llama``
    in-process: (completion tokens/s, seconds per item). The gap to the tool is the cost of
    the HTTP server, the client and the engine."""
    from llama_cpp import Llama

    from dwa_rater.llm.response import batch_model
    from dwa_rater.prompts import load_prompt, render_user_message

    prompt = load_prompt("exposure")
    schema = batch_model(prompt.output, ["1"]).model_json_schema()
    model = Llama(model_path=str(locate_model()), n_ctx=4096, n_threads=2, verbose=False)
    tokens = 0
    start = time.perf_counter()
    for item in items:
        out = model.create_chat_completion(
            messages=[
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": render_user_message(prompt, [("1", item)])},
            ],
            response_format={"type": "json_object", "schema": schema},
            temperature=0.0,
            max_tokens=150,
        )
        tokens += out["usage"]["completion_tokens"]
    elapsed = time.perf_counter() - start
    return tokens / elapsed, elapsed / len(items)


def alternation_share(labels: list[str]) -> float:
    """Share of neighbouring pairs inside a batch whose labels differ (position patterns)."""
    if len(labels) < 2:
        return float("nan")
    return float(np.mean([a != b for a, b in itertools.pairwise(labels)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[1, 20], help="items per request to run"
    )
    args = parser.parse_args()
    onet = Path(os.environ.get("DWA_RATER_DATA_DIR", "../shared/data")) / "onet"
    items = catalog.select_items(
        catalog.dwa_items(catalog.load_onet(onet)), sample=args.sample, seed=args.seed
    )
    results: dict[str, float] = {"n_items": len(items)}
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        runs = {}
        for k in args.batch_sizes:
            spec = default_rater(name=f"k{k}", batch_size=k)
            start = time.perf_counter()
            result = execute_run(
                items, [spec], out=tmp / f"k{k}.csv", cache_dir=tmp / "cache", environ={}
            )
            wall = time.perf_counter() - start
            frame = read_ratings(tmp / f"k{k}.csv")
            runs[k] = frame
            ok = frame[frame["status"] == "ok"]
            p = result.progress
            results[f"k{k}_wall_s"] = wall
            results[f"k{k}_seconds_per_item"] = wall / len(items)
            results[f"k{k}_prompt_tokens_per_item"] = p.prompt_tokens / len(items)
            results[f"k{k}_completion_tokens_per_item"] = p.completion_tokens / len(items)
            results[f"k{k}_failed"] = p.failed
            results[f"k{k}_requests"] = p.requests
            results[f"k{k}_items_reasked_alone"] = p.reasks
            busy = float(ok["latency_s"].groupby(ok["created_at"]).first().sum())
            # No usable answer (e.g. every K=20 answer re-asked and failed): no speed to report.
            results[f"k{k}_generation_tokens_per_s"] = (
                p.completion_tokens / busy if busy > 0 else float("nan")
            )
            for label in ("E0", "E1", "E2"):
                results[f"k{k}_share_{label}"] = float((ok["label"] == label).mean())
        if 1 in runs and 20 in runs:
            k20 = runs[20][runs[20]["status"] == "ok"]
            # Items of one multi-item answer share created_at; re-asked items stand alone.
            group_size = k20.groupby("created_at")["item_id"].transform("size")
            from_batch = k20[group_size > 1]
            results["k20_share_from_batch_answers"] = len(from_batch) / max(1, len(k20))
            results["k20_alternation_share"] = alternation_share(list(from_batch["label"]))
            both = runs[1].merge(from_batch, on="item_id", suffixes=("_1", "_20"))
            both = both[both["status_1"] == "ok"]
            results["k1_vs_k20_items_compared"] = len(both)
            results["k1_vs_k20_agreement"] = float((both["label_1"] == both["label_20"]).mean())
            try:
                position = {"E0": 0, "E2": 1, "E1": 2}
                results["k1_vs_k20_kappa"] = cohen_kappa(
                    both["label_1"].map(position).to_numpy(),
                    both["label_20"].map(position).to_numpy(),
                    3,
                )
            except Exception as exc:  # a degenerate sample (one label only) has no kappa
                print(f"kappa undefined: {exc}")
        results["llama_cpp_plain_generation_tokens_per_s"] = llama_direct_tokens_per_s()
        same_rate, same_seconds = llama_direct_same_requests(items)
        results["llama_cpp_same_requests_tokens_per_s"] = same_rate
        results["llama_cpp_same_requests_seconds_per_item"] = same_seconds
        results["ratio_tool_to_llama_same_requests_k1"] = (
            results["k1_generation_tokens_per_s"] / same_rate
        )
        results["minutes_all_2087_dwas_k1"] = results["k1_seconds_per_item"] * 2087 / 60
        if "k20_seconds_per_item" in results:
            results["minutes_all_2087_dwas_k20"] = results["k20_seconds_per_item"] * 2087 / 60
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:10.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
