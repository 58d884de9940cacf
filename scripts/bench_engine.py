"""Benchmark the rating engine's own cost against a loopback OpenAI-compatible server.

Measures, in one run (ratios against baselines measured in the same run):
1. client CPU time per request and per item of the whole engine (validation, cache, journal
   included) at K=1 and K=20 items per request, against a bare ``openai`` SDK call;
2. items/s at concurrency 32 against a server with 100 ms latency, against that server's ceiling
   measured with a bare async client at the same concurrency;
3. a fully cached replay of 2,087 DWAs x 3 raters: ratings/s.

The server runs as a subprocess so that its CPU time is not counted as the client's.

    .venv/bin/python scripts/bench_engine.py [--requests 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai

from dwa_rater.config import RaterSpec
from dwa_rater.prompts import load_prompt, render_user_message
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item


@contextmanager
def fake_server(latency_s: float) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dwa_rater.testing.fake_openai",
            "--port",
            "0",
            "--latency",
            str(latency_s),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_items(n: int, prefix: str) -> list[Item]:
    return [
        Item(
            item_id=f"{prefix}{i}",
            item_type="dwa",
            text=f"Prepare written report number {i}.",
            context="IWA: Prepare reports; GWA: Documenting/Recording Information",
        )
        for i in range(n)
    ]


def bare_sdk_cpu_per_request(base_url: str, n: int) -> float:
    prompt = load_prompt("exposure")
    client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
    item = make_items(1, "bare")[0]
    messages = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": render_user_message(prompt, [("1", item)])},
    ]
    client.chat.completions.create(model="m", messages=messages)  # warm-up
    start = time.process_time()
    for _ in range(n):
        client.chat.completions.create(model="m", messages=messages, temperature=0)
    return (time.process_time() - start) / n


def bare_async_cpu_per_request(base_url: str, n: int) -> float:
    """The async openai client, one request at a time (the engine is async)."""
    prompt = load_prompt("exposure")
    item = make_items(1, "bare")[0]
    messages = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": render_user_message(prompt, [("1", item)])},
    ]

    async def run() -> float:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
        await client.chat.completions.create(model="m", messages=messages)  # warm-up
        start = time.process_time()
        for _ in range(n):
            await client.chat.completions.create(model="m", messages=messages, temperature=0)
        elapsed = time.process_time() - start
        await client.close()
        return elapsed / n

    return asyncio.run(run())


def bare_instructor_cpu_per_request(base_url: str, n: int) -> float | None:
    """openai + instructor with the engine's response model (None when not installed)."""
    try:
        import instructor
    except ImportError:
        return None

    from dwa_rater.llm.response import batch_model

    prompt = load_prompt("exposure")
    client = instructor.from_openai(
        openai.OpenAI(base_url=base_url, api_key="x", max_retries=0),
        mode=instructor.Mode.JSON_SCHEMA,
    )
    item = make_items(1, "bare")[0]
    messages = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": render_user_message(prompt, [("1", item)])},
    ]
    model = batch_model(prompt.output, ["1"])
    client.chat.completions.create(model="m", messages=messages, response_model=model)
    start = time.process_time()
    for _ in range(n):
        client.chat.completions.create(
            model="m", messages=messages, response_model=model, temperature=0
        )
    return (time.process_time() - start) / n


def engine_cpu(base_url: str, n_items: int, batch_size: int, tmp: Path) -> tuple[float, int]:
    spec = RaterSpec(
        name=f"k{batch_size}", base_url=base_url, model="m", batch_size=batch_size, concurrency=1
    )
    items = make_items(n_items, f"k{batch_size}-")
    start = time.process_time()
    result = execute_run(
        items,
        [spec],
        out=tmp / f"k{batch_size}.csv",
        cache_dir=tmp / f"cache-k{batch_size}",
        environ={},
    )
    return time.process_time() - start, result.progress.requests


async def bare_async_rate(base_url: str, n: int, concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)
    messages = [{"role": "user", "content": "[1] Prepare report."}]

    async def one() -> None:
        async with semaphore:
            await client.chat.completions.create(model="m", messages=messages)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed = time.perf_counter() - start
    await client.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="only part 1 at K=1 (a few seconds of CPU)"
    )
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        os.environ["DWA_RATER_HOME"] = str(tmp / "home")
        with fake_server(0.0) as url:
            bare = bare_sdk_cpu_per_request(url, args.requests)
            results["bare_sdk_cpu_ms_per_request"] = bare * 1000
            bare_async = bare_async_cpu_per_request(url, args.requests)
            results["bare_async_sdk_cpu_ms_per_request"] = bare_async * 1000
            bare_instructor = bare_instructor_cpu_per_request(url, args.requests)
            if bare_instructor is not None:
                results["bare_sdk_instructor_cpu_ms_per_request"] = bare_instructor * 1000
            cpu1, req1 = engine_cpu(url, args.requests, 1, tmp)
            results["engine_k1_cpu_ms_per_request"] = cpu1 / req1 * 1000
            results["engine_k1_cpu_ms_per_item"] = cpu1 / args.requests * 1000
            results["ratio_engine_k1_to_bare_per_request"] = cpu1 / req1 / bare
            if args.quick:
                report(results, args.json)
                return
            n20 = args.requests * 10
            cpu20, req20 = engine_cpu(url, n20, 20, tmp)
            results["engine_k20_cpu_ms_per_request"] = cpu20 / req20 * 1000
            results["engine_k20_cpu_ms_per_item"] = cpu20 / n20 * 1000
            results["ratio_engine_k1_to_bare_per_request"] = results[
                "engine_k1_cpu_ms_per_request"
            ] / (bare * 1000)
            results["ratio_engine_k1_to_bare_async_per_request"] = results[
                "engine_k1_cpu_ms_per_request"
            ] / (bare_async * 1000)
            if bare_instructor is not None:
                results["ratio_engine_k1_to_bare_instructor_per_request"] = results[
                    "engine_k1_cpu_ms_per_request"
                ] / (bare_instructor * 1000)
            results["ratio_engine_k20_to_bare_per_item"] = results["engine_k20_cpu_ms_per_item"] / (
                bare * 1000
            )

            # 3. cached replay of 2,087 x 3 raters
            items = make_items(2087, "dwa-")
            raters = [
                RaterSpec(
                    name=f"r{t}",
                    base_url=url,
                    model="m",
                    temperature=t / 10,
                    concurrency=16,
                    batch_size=20,
                )
                for t in range(3)
            ]
            execute_run(items, raters, out=tmp / "fill.csv", cache_dir=tmp / "replay", environ={})
            start = time.perf_counter()
            replay = execute_run(
                items, raters, out=tmp / "replay.csv", cache_dir=tmp / "replay", environ={}
            )
            elapsed = time.perf_counter() - start
            assert replay.progress.requests == 0 and replay.progress.cached == 3 * 2087
            results["cached_replay_ratings_per_s"] = 3 * 2087 / elapsed

        with fake_server(0.1) as url:
            n = 640
            ceiling = asyncio.run(bare_async_rate(url, n, 32))
            spec = RaterSpec(name="c32", base_url=url, model="m", concurrency=32, batch_size=1)
            start = time.perf_counter()
            execute_run(
                make_items(n, "c32-"),
                [spec],
                out=tmp / "c32.csv",
                cache_dir=tmp / "c32",
                environ={},
            )
            engine_rate = n / (time.perf_counter() - start)
            results["server_ceiling_requests_per_s_c32"] = ceiling
            results["engine_items_per_s_c32"] = engine_rate
            results["ratio_engine_to_ceiling_c32"] = engine_rate / ceiling
    report(results, args.json)


def report(results: dict[str, float], path: Path | None) -> None:
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:10.3f}")
    if path:
        path.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
