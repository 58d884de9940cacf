#!/usr/bin/env bash
# Regenerate constraints.txt (the application's lock) from a virtualenv in which
# `scripts/setup.sh` succeeded and the tests passed:  bash scripts/lock.sh [VENV]
# pyproject.toml keeps ranges for the library; this file pins the versions the tests ran with.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
{
  echo "# The application's lock: exact versions the test suite ran with (pip constraints)."
  echo "# Installed by scripts/setup.sh and scripts/check_wheel.sh with \`pip install -c constraints.txt\`."
  echo "# Regenerate with scripts/lock.sh after a green run; pyproject.toml holds the library's ranges."
  "$VENV/bin/python" -m pip freeze --exclude-editable --all \
    | grep -v -i -E '^(dwa[-_]rater|pip|setuptools|wheel)([=@ ]|$)' \
    | LC_ALL=C sort -f
} > constraints.txt.tmp
mv constraints.txt.tmp constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins)"
