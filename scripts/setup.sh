#!/usr/bin/env bash
# Set up everything dwa_rater needs on a fresh Debian/Ubuntu machine with Python 3.11+:
#   - .venv with dwa_rater and its extras (the embedded llama.cpp model is compiled from
#     source: about 12 minutes on 2 cores the first time; pip caches the wheel afterwards);
#   - .venv-labelstudio with the pinned Label Studio server (its own environment: it pins Django
#     and its own SDK);
#   - Debian's chromium and a CJK font for report rendering checks (only when run as root).
# Re-running it is cheap: every step is skipped or cached when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dwa_rater needs Python 3.11 or newer")'

if [ "${DWA_SKIP_APT:-0}" != "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    echo "== system packages (chromium, CJK font)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "== installing dwa_rater with extras local, embed, review, distributed, dev (first time: ~12 min to compile llama.cpp)"
CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" .venv/bin/python -m pip install -q -e ".[local,embed,review,distributed,dev]"
.venv/bin/python -m pip check

if [ "${DWA_SKIP_LABEL_STUDIO:-0}" != "1" ]; then
  bash scripts/labelstudio.sh install
fi
echo "== ready: .venv/bin/dwa-rater --help"
