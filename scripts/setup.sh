#!/usr/bin/env bash
# Set up everything dwa_rater needs on a fresh Debian/Ubuntu machine with Python 3.11+:
#   - .venv with dwa_rater and its extras (llama.cpp is compiled from source with portable CPU
#     flags: about 10 minutes on 2 cores the first time; the wheel is cached afterwards under
#     ~/.cache/dwa_rater/wheels, keyed on version and flags);
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

# llama.cpp, built portably. Its default build tunes itself to the build machine's CPU
# (GGML_NATIVE), which on Xeons that advertise AMX enables AMX matrix kernels; a VM that does not
# let processes use AMX tile state kills the server on its first completion. Runtime dispatch
# (GGML_CPU_ALL_VARIANTS) picks the variant by CPUID, which such a VM still advertises, so it
# would pick AMX too. Hence a fixed instruction set that every x86-64 CPU since 2013 (Haswell,
# Zen) has: AVX, AVX2, FMA, F16C, BMI2; no AVX-512, no AMX. DWA_LLAMA_CMAKE_ARGS overrides it.
LLAMA_VERSION=0.3.36
LLAMA_CMAKE_ARGS=${DWA_LLAMA_CMAKE_ARGS:-"-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"}
LLAMA_KEY=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-16)
# The wheel is cached outside the checkout, keyed on version and flags: pip's own wheel cache
# is keyed on the source archive only, so it would hand back a wheel built with other flags.
WHEEL_DIR=${DWA_RATER_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dwa_rater/wheels}/llama-cpp-python-$LLAMA_KEY
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "== compiling llama-cpp-python $LLAMA_VERSION (portable x86-64 build; ~10 min on 2 cores, once)"
  rm -rf "$WHEEL_DIR.partial"
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir \
    --no-binary llama-cpp-python -w "$WHEEL_DIR.partial" "llama-cpp-python==$LLAMA_VERSION"
  mkdir -p "$(dirname "$WHEEL_DIR")"
  rm -rf "$WHEEL_DIR"
  mv "$WHEEL_DIR.partial" "$WHEEL_DIR"
fi
LLAMA_WHEEL=$(ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
if [ "$(cat .venv/.llama-build-key 2>/dev/null)" != "$LLAMA_KEY" ]; then
  # --force-reinstall: a venv may hold a llama-cpp-python of the same version built otherwise.
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "$LLAMA_WHEEL"
  echo "$LLAMA_KEY" > .venv/.llama-build-key
fi

echo "== installing dwa_rater with extras local, embed, review, distributed, data, dev"
# constraints.txt is the application's lock (the versions the tests ran with); pyproject.toml
# keeps ranges for people installing the library into their own environment.
.venv/bin/python -m pip install -q -c constraints.txt "$LLAMA_WHEEL[server]" \
  -e ".[local,embed,review,distributed,data,dev]"
.venv/bin/python -m pip check

echo "== checking that the embedded model answers on this CPU"
if ! .venv/bin/python -m dwa_rater.llm.selfcheck; then
  echo "setup.sh: the embedded model crashed on this machine's CPU; rebuild llama.cpp with other" >&2
  echo "flags: DWA_LLAMA_CMAKE_ARGS='-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF' bash scripts/setup.sh" >&2
  exit 1
fi

if [ "${DWA_SKIP_LABEL_STUDIO:-0}" != "1" ]; then
  bash scripts/labelstudio.sh install
fi
echo "== ready: .venv/bin/dwa-rater --help"
