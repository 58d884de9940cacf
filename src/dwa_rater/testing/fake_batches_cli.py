"""Command line of the fake Batch server: ``python -m dwa_rater.testing.fake_batches``."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dwa_rater.testing.fake_batches import DAY_S, FakeBatchServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print the base URL on the first line."""
    parser = argparse.ArgumentParser(
        prog="python -m dwa_rater.testing.fake_batches",
        description="Serve fake OpenAI Files and Batches endpoints on 127.0.0.1 until killed.",
    )
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--validating-s", type=float, default=1.0)
    parser.add_argument("--in-progress-s", type=float, default=5.0)
    parser.add_argument("--finalizing-s", type=float, default=1.0)
    parser.add_argument("--completion-window-s", type=float, default=DAY_S)
    parser.add_argument("--enqueued-token-limit", type=int, default=None)
    args = parser.parse_args(argv)
    server = FakeBatchServer(
        args.state_dir,
        port=args.port,
        api_key=args.api_key,
        validating_s=args.validating_s,
        in_progress_s=args.in_progress_s,
        finalizing_s=args.finalizing_s,
        completion_window_s=args.completion_window_s,
        enqueued_token_limit=args.enqueued_token_limit,
    )
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with server:
        print(server.base_url, flush=True)
        done.wait()
    return 0
