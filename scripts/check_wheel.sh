#!/usr/bin/env bash
# Build the wheel, install it into a clean virtualenv (no system site-packages, no checkout on
# the path) and use it from another folder: `dwa-rater --version/--help`, `dwa-rater rate` of 3
# DWAs through a loopback fake OpenAI server, and the Python API (`dwa_rater.rate` called inside
# a running event loop). Exit 0 when everything holds.
#
#   bash scripts/check_wheel.sh            # CI (.ci/run) calls exactly this
#
# Offline-fast: wheels come from a local wheelhouse (DWA_WHEELHOUSE, default
# ~/.cache/dwa_rater/wheelhouse) with the versions of constraints.txt; only what is missing
# there is downloaded, once. PYTHON picks the interpreter of the clean venv (default python3).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WHEELHOUSE=${DWA_WHEELHOUSE:-$HOME/.cache/dwa_rater/wheelhouse}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dwa_check_wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WHEELHOUSE"
unset PYTHONPATH PIP_REQUIRE_VIRTUALENV
export PIP_DISABLE_PIP_VERSION_CHECK=1

"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"

# pip install from the wheelhouse only; on a miss, download what is missing and try again.
offline_install() {
  "$VPY" -m pip install -q --no-index --find-links "$WHEELHOUSE" "$@" 2>"$WORK/pip.err" && return 0
  echo "== filling the wheelhouse $WHEELHOUSE (first run, or constraints.txt changed)"
  "$VPY" -m pip download -q -d "$WHEELHOUSE" "$@"
  "$VPY" -m pip install -q --no-index --find-links "$WHEELHOUSE" "$@"
}

echo "== building the wheel"
offline_install "setuptools>=77" wheel
# Build from a copy of the working tree (symbolic links kept), so that no build/ or egg-info
# lands in the checkout; without build isolation, as the build requirements just came from the
# wheelhouse into the clean venv.
mkdir -p "$WORK/tree/annotations"
(cd "$REPO" && cp -R src prompts pyproject.toml README.md MANIFEST.in constraints.txt "$WORK/tree/" \
  && cp -R annotations/labeling_config.xml annotations/guidelines.md annotations/guidelines.zh.md \
    annotations/README.md annotations/wording "$WORK/tree/annotations/")
find "$WORK/tree" -name __pycache__ -prune -exec rm -rf {} +
(cd "$WORK/tree" && "$VPY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" . \
  >"$WORK/build.log" 2>&1) || { cat "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/dwa_rater-*.whl)
echo "   $(basename "$WHEEL")"
"$VPY" - "$WHEEL" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = [
    "dwa_rater/_data/prompts/exposure/v1/manifest.toml",
    "dwa_rater/_data/prompts/exposure/v1/system.md",
    "dwa_rater/_data/prompts/ilo/v1/user.md",
    "dwa_rater/_data/annotations/labeling_config.xml",
    "dwa_rater/_data/annotations/guidelines.md",
    "dwa_rater/_data/annotations/wording/exposure-v1.toml",
    "dwa_rater/py.typed",
]
missing = [n for n in wanted if n not in names]
exports = [n for n in names if n.startswith("dwa_rater/_data/annotations/") and n.endswith(".json")]
if missing or exports:
    sys.exit(f"wheel content wrong: missing {missing}, unexpected {exports}")
PY

echo "== installing it into a clean venv"
offline_install -c "$REPO/constraints.txt" "$WHEEL"

echo "== using it from another folder"
mkdir -p "$WORK/elsewhere"
cp -r "$REPO/tests/fixtures/onet_mini" "$WORK/onet"
cp "$REPO/scripts/check_wheel.py" "$WORK/check_wheel.py"
cd "$WORK/elsewhere"
DWA_RATER_HOME="$WORK/home" PATH="$WORK/venv/bin:$PATH" \
  "$VPY" "$WORK/check_wheel.py" --onet "$WORK/onet" --site "$WORK/venv"
echo "== wheel OK"
