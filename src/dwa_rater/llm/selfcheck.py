"""Check that the embedded model answers on this CPU: ``python -m dwa_rater.llm.selfcheck``.

Run by the set-up script after it installs llama.cpp. The completion runs in a child process, so
a native crash (an instruction the CPU or the VM refuses) becomes an exit code and a message here
instead of a dead rating run later. Exit 0 when the model answered.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from dwa_rater.errors import LocalModelError
from dwa_rater.llm.embedded import SMOLLM2, locate_model

_PROBE = """
import sys
from llama_cpp import Llama
model = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False)
out = model.create_completion("The capital of France is", max_tokens=4, temperature=0)
print(repr(out["choices"][0]["text"]))
"""


def check_embedded_model(timeout_s: float = 300.0) -> str:
    """Load the embedded model in a child process and complete a few tokens; return the text.

    Raises :class:`LocalModelError` with the exit code or signal when the child fails.
    """
    path = locate_model(SMOLLM2)
    result = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        how = f"exit code {result.returncode}"
        if result.returncode < 0:
            how = f"signal {signal.Signals(-result.returncode).name}"
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise LocalModelError(f"the embedded model crashed on this CPU ({how}): {tail}")
    return result.stdout.strip()


def main() -> int:
    try:
        text = check_embedded_model()
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"embedded model answered: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
