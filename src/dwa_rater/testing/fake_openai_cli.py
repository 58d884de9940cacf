"""Command line of the fake OpenAI server: ``python -m dwa_rater.testing.fake_openai``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dwa_rater.errors import ConfigError
from dwa_rater.testing.fake_openai import FakeOpenAIServer


def _parse_item_fault(text: str) -> tuple[str, str]:
    substring, sep, kind = text.rpartition("=")
    if not sep or not substring:
        raise argparse.ArgumentTypeError(f"expected SUBSTRING=KIND, got {text!r}")
    return substring, kind


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dwa_rater.testing.fake_openai",
        description="Serve a fault-injecting fake OpenAI API on 127.0.0.1 until killed.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--faults", default="", help="comma-separated script, e.g. 429,500,ok")
    parser.add_argument(
        "--item-fault",
        action="append",
        type=_parse_item_fault,
        default=[],
        metavar="SUBSTRING=KIND",
        help="fault for items whose text contains SUBSTRING (repeatable)",
    )
    parser.add_argument("--retry-after", type=float, default=0.05, help="seconds a 429 asks for")
    parser.add_argument("--salt", default="")
    parser.add_argument("--salt-disagreement", type=float, default=0.3)
    parser.add_argument("--rate-limit-every", type=int, default=None)
    parser.add_argument("--error-every", type=int, default=None)
    parser.add_argument("--slow-s", type=float, default=5.0)
    parser.add_argument("--slow-first-n", type=int, default=0)
    parser.add_argument("--record-bodies", action="store_true", help="keep request bodies")
    parser.add_argument("--stats-file", type=Path, default=None, help="JSON stats written at exit")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop by itself after")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT (or ``--max-seconds``); print the base URL on the first line."""
    args = _build_parser().parse_args(argv)
    faults = [kind.strip() for kind in args.faults.split(",") if kind.strip()]
    try:
        server = FakeOpenAIServer(
            model=args.model,
            api_key=args.api_key,
            faults=faults,
            item_faults=dict(args.item_fault),
            latency_s=args.latency,
            retry_after_s=args.retry_after,
            salt=args.salt,
            salt_disagreement=args.salt_disagreement,
            rate_limit_every=args.rate_limit_every,
            error_every=args.error_every,
            slow_s=args.slow_s,
            slow_first_n=args.slow_first_n,
            record_bodies=args.record_bodies,
            port=args.port,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with server:
        print(server.base_url, flush=True)
        done.wait(args.max_seconds)
    if args.stats_file is not None:
        args.stats_file.write_text(json.dumps(server.stats(), indent=2) + "\n", encoding="utf-8")
    return 0
