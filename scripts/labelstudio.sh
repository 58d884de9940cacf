#!/usr/bin/env bash
# Label Studio for dwa_rater's human review: install it, start it on 127.0.0.1, stop it.
#
#   scripts/labelstudio.sh install
#       Create .venv-labelstudio (repo root) holding label-studio==1.23.2, which pins its own
#       SDK and Django and so stays out of .venv. Skipped when that version is already there.
#   scripts/labelstudio.sh start [--data-dir DIR] [--port N]
#       Start a server on 127.0.0.1 (a free port unless --port), with a throwaway data dir
#       (removed by `stop`) unless --data-dir. The admin user and its API token come from
#       LABEL_STUDIO_USERNAME, LABEL_STUDIO_PASSWORD and LABEL_STUDIO_API_KEY; whatever is unset
#       is generated at random. Both are kept in DIR/credentials.env (mode 0600): Label Studio
#       applies them only when it creates its database, so a reused data dir keeps its own.
#       Waits for /health and checks the token, then writes DIR/server.env (0600: PID, URL,
#       token) and prints where it is.
#   scripts/labelstudio.sh stop [--data-dir DIR]
#       Stop the server by PID (TERM, wait, KILL); remove the data dir if it was throwaway.
#   scripts/labelstudio.sh env [--data-dir DIR]
#       Print `export LABEL_STUDIO_URL=... LABEL_STUDIO_API_KEY=...`; use with eval.
#
# Without --data-dir, stop/env use the server last started by this script (recorded in
# $DWA_RATER_HOME/labelstudio/current, default ~/.cache/dwa_rater). Tokens are written only
# inside the data dir, never in the repo. Usage analytics, version checks and Sentry are off;
# sign-up without an invitation link is disabled.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LS_VERSION=1.23.2
VENV=${LABEL_STUDIO_VENV:-$ROOT/.venv-labelstudio}
STATE_DIR=${DWA_RATER_HOME:-$HOME/.cache/dwa_rater}/labelstudio
START_TIMEOUT=${LABEL_STUDIO_START_TIMEOUT:-300}

die() {
  echo "labelstudio.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ------------------------------------------------------------------------------------------
# install

installed_version() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - <<'EOF' 2>/dev/null
from importlib.metadata import version
print(version("label-studio"))
EOF
}

cmd_install() {
  local have
  have=$(installed_version || true)
  if [ "$have" = "$LS_VERSION" ] && [ -x "$VENV/bin/label-studio" ]; then
    echo "label-studio $LS_VERSION already installed in $VENV"
    return 0
  fi
  local python=${PYTHON:-python3}
  "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Label Studio needs Python 3.10 or newer")'
  echo "== installing label-studio $LS_VERSION into $VENV (about 2-3 minutes, 1 GB)"
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "label-studio==$LS_VERSION"
  [ "$(installed_version)" = "$LS_VERSION" ] || die "install of label-studio $LS_VERSION failed"
  echo "label-studio $LS_VERSION installed in $VENV"
}

# ------------------------------------------------------------------------------------------
# helpers

random_hex() { # $1 = number of bytes
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

free_port() {
  "$VENV/bin/python" - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

# Write KEY=VALUE lines (shell-quoted) to a file readable by its owner only, atomically.
write_env_file() { # $1 = path, then KEY VALUE pairs
  local path=$1
  shift
  local tmp
  tmp=$(mktemp "$path.XXXXXX")
  chmod 600 "$tmp"
  while [ $# -gt 0 ]; do
    printf '%s=%q\n' "$1" "$2" >>"$tmp"
    shift 2
  done
  mv -f "$tmp" "$path"
}

# The value of KEY in an env file written by write_env_file (values are shell-quoted).
env_value() { # $1 = path, $2 = key
  (
    set +u
    unset "$2" # a key absent from the file must not come from the caller's environment
    # shellcheck disable=SC1090
    . "$1"
    printf '%s' "${!2}"
  )
}

http_status() { # $1 = url, $2 = optional token
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  [ -n "${2:-}" ] && args+=(-H "Authorization: Token $2")
  curl "${args[@]}" "$1" 2>/dev/null || true
}

resolve_data_dir() { # $1 = --data-dir value or empty
  if [ -n "$1" ]; then
    (cd "$1" 2>/dev/null && pwd) || die "data dir $1 does not exist"
  elif [ -f "$STATE_DIR/current" ]; then
    cat "$STATE_DIR/current"
  else
    die "no server started by this script; pass --data-dir DIR"
  fi
}

pid_is_label_studio() { # $1 = pid
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "label-studio"
}

# ------------------------------------------------------------------------------------------
# start

cmd_start() {
  local data_dir="" port=""
  while [ $# -gt 0 ]; do
    case $1 in
      --data-dir) data_dir=${2:?--data-dir needs a value}; shift 2 ;;
      --port) port=${2:?--port needs a value}; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  [ -x "$VENV/bin/label-studio" ] || die "no Label Studio in $VENV; run: $0 install"

  local throwaway=0
  if [ -z "$data_dir" ]; then
    data_dir=$(mktemp -d "${TMPDIR:-/tmp}/labelstudio-data.XXXXXX")
    throwaway=1
  else
    mkdir -p "$data_dir"
    data_dir=$(cd "$data_dir" && pwd)
  fi
  chmod 700 "$data_dir"
  [ "$throwaway" = 1 ] && touch "$data_dir/.throwaway"

  if [ -f "$data_dir/server.env" ]; then
    local old_pid
    old_pid=$(env_value "$data_dir/server.env" LABEL_STUDIO_PID)
    if [ -n "$old_pid" ] && pid_is_label_studio "$old_pid"; then
      die "a server (PID $old_pid) already runs on $data_dir; stop it first"
    fi
  fi

  # Credentials: kept from an earlier start of this data dir (the database holds them), else
  # from the environment, else random.
  local username password token
  if [ -f "$data_dir/credentials.env" ]; then
    username=$(env_value "$data_dir/credentials.env" LABEL_STUDIO_USERNAME)
    password=$(env_value "$data_dir/credentials.env" LABEL_STUDIO_PASSWORD)
    token=$(env_value "$data_dir/credentials.env" LABEL_STUDIO_API_KEY)
    if [ -n "${LABEL_STUDIO_API_KEY:-}" ] && [ "$LABEL_STUDIO_API_KEY" != "$token" ]; then
      echo "note: $data_dir already has its admin token; LABEL_STUDIO_API_KEY is ignored" >&2
    fi
  else
    username=${LABEL_STUDIO_USERNAME:-admin@example.com}
    password=${LABEL_STUDIO_PASSWORD:-$(random_hex 16)}
    token=${LABEL_STUDIO_API_KEY:-$(random_hex 20)}
    [ ${#token} -gt 5 ] || die "LABEL_STUDIO_API_KEY must be longer than 5 characters"
    write_env_file "$data_dir/credentials.env" \
      LABEL_STUDIO_USERNAME "$username" LABEL_STUDIO_PASSWORD "$password" \
      LABEL_STUDIO_API_KEY "$token"
  fi

  [ -n "$port" ] || port=$(free_port)
  local log="$data_dir/server.log"
  : >"$log"
  chmod 600 "$log"

  # Label Studio reads each setting X as LABEL_STUDIO_X, then HEARTEX_X, then plain X, so
  # generic names from the caller's environment (HOST, PORT, USERNAME, ...) would leak in.
  (
    exec env \
      -u HOST -u PORT -u USERNAME -u PASSWORD -u USER_TOKEN -u DATA_DIR -u BASE_DATA_DIR \
      -u LABEL_STUDIO_HOST -u LABEL_STUDIO_PORT -u LABEL_STUDIO_URL -u LABEL_STUDIO_API_KEY \
      -u DEBUG -u LOG_LEVEL -u DJANGO_SETTINGS_MODULE -u DATABASE_NAME \
      LABEL_STUDIO_BASE_DATA_DIR="$data_dir" \
      LABEL_STUDIO_USERNAME="$username" \
      LABEL_STUDIO_PASSWORD="$password" \
      LABEL_STUDIO_USER_TOKEN="$token" \
      LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
      LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true \
      LATEST_VERSION_CHECK=false \
      COLLECT_ANALYTICS=false \
      SENTRY_DSN= \
      FRONTEND_SENTRY_DSN= \
      DJANGO_DB=sqlite \
      PYTHONUNBUFFERED=1 \
      setsid "$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 \
      --port "$port" --data-dir "$data_dir"
  ) </dev/null >>"$log" 2>&1 &
  local pid=$!
  local url="http://127.0.0.1:$port"
  echo "starting Label Studio (PID $pid) on $url with data dir $data_dir; log: $log"

  fail_start() {
    echo "---- last lines of $log" >&2
    tail -n 30 "$log" >&2 || true
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      sleep 2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    [ "$throwaway" = 1 ] && rm -rf "$data_dir"
    die "$1"
  }

  # Label Studio silently moves to the next port when the one asked for is taken, so wait for
  # its "Starting development server at" line and check the port before trusting /health.
  local waited=0 started_at
  while :; do
    started_at=$(sed -n 's|.*Starting development server at \(http://[^ ]*\)/.*|\1|p' "$log" | tail -n 1)
    [ -n "$started_at" ] && break
    kill -0 "$pid" 2>/dev/null || fail_start "Label Studio exited during start-up"
    [ "$waited" -lt "$START_TIMEOUT" ] || fail_start "Label Studio did not start within ${START_TIMEOUT}s"
    sleep 1
    waited=$((waited + 1))
  done
  [ "$started_at" = "$url" ] ||
    fail_start "Label Studio started at $started_at instead of $url (port $port taken?)"
  while [ "$(http_status "$url/health")" != "200" ]; do
    kill -0 "$pid" 2>/dev/null || fail_start "Label Studio exited during start-up"
    [ "$waited" -lt "$START_TIMEOUT" ] || fail_start "no answer on $url/health after ${START_TIMEOUT}s"
    sleep 1
    waited=$((waited + 1))
  done
  [ "$(http_status "$url/api/current-user/whoami" "$token")" = "200" ] ||
    fail_start "the server refuses the admin token (data dir created with another token?)"

  write_env_file "$data_dir/server.env" \
    LABEL_STUDIO_PID "$pid" LABEL_STUDIO_URL "$url" LABEL_STUDIO_API_KEY "$token" \
    LABEL_STUDIO_DATA_DIR "$data_dir" LABEL_STUDIO_LOG "$log" LABEL_STUDIO_THROWAWAY "$throwaway"
  mkdir -p "$STATE_DIR"
  printf '%s\n' "$data_dir" >"$STATE_DIR/current"
  echo "Label Studio is up after ${waited}s: $url (PID $pid)"
  echo "server env file: $data_dir/server.env"
}

# ------------------------------------------------------------------------------------------
# stop, env

read_server_env() { # $1 = data dir; sets PID, URL, TOKEN, THROWAWAY
  local file="$1/server.env"
  [ -f "$file" ] || die "no $file: no server started there by this script"
  PID=$(env_value "$file" LABEL_STUDIO_PID)
  URL=$(env_value "$file" LABEL_STUDIO_URL)
  TOKEN=$(env_value "$file" LABEL_STUDIO_API_KEY)
  THROWAWAY=$(env_value "$file" LABEL_STUDIO_THROWAWAY)
}

parse_data_dir_option() {
  local data_dir=""
  while [ $# -gt 0 ]; do
    case $1 in
      --data-dir) data_dir=${2:?--data-dir needs a value}; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  resolve_data_dir "$data_dir"
}

cmd_stop() {
  local data_dir
  data_dir=$(parse_data_dir_option "$@")
  read_server_env "$data_dir"
  if [ -n "$PID" ] && pid_is_label_studio "$PID"; then
    kill -TERM "$PID" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      pid_is_label_studio "$PID" || break
      sleep 0.2
    done
    if pid_is_label_studio "$PID"; then
      echo "Label Studio (PID $PID) ignored TERM for 10s; killing it" >&2
      kill -KILL "$PID" 2>/dev/null || true
    fi
    echo "stopped Label Studio (PID $PID)"
  else
    echo "Label Studio (PID ${PID:-?}) was not running"
  fi
  rm -f "$data_dir/server.env"
  if [ -f "$STATE_DIR/current" ] && [ "$(cat "$STATE_DIR/current")" = "$data_dir" ]; then
    rm -f "$STATE_DIR/current"
  fi
  if [ "$THROWAWAY" = 1 ] && [ -f "$data_dir/.throwaway" ]; then
    rm -rf "$data_dir"
    echo "removed throwaway data dir $data_dir"
  fi
}

cmd_env() {
  local data_dir
  data_dir=$(parse_data_dir_option "$@")
  read_server_env "$data_dir"
  printf 'export LABEL_STUDIO_URL=%q LABEL_STUDIO_API_KEY=%q\n' "$URL" "$TOKEN"
}

# ------------------------------------------------------------------------------------------

case ${1:-} in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  env) shift; cmd_env "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
