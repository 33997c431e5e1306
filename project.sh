#!/usr/bin/env bash
# The project's entry point for people and CI. Needs only Python 3.11+ and git; installs
# uv (pinned), the locked environment and, when missing, a Java runtime for local Spark.
#
#   bash project.sh run [kedro run options]   set up, then run the __default__ pipeline
#   bash project.sh test [pytest options]     set up, then run the tests
#   bash project.sh setup | lint | viz | mlflow-ui | kedro ... | serve | rollback | replay | retrain-check
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

UV_VERSION="0.13.9"
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 MLFLOW_ENABLE_ASYNC_LOGGING=false
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PWD/.venv/bin/python}"

say() { printf '[project] %s\n' "$*" >&2; }

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

# apt_install WHY HOW PACKAGE... : installs the first package apt can install, as root or
# through password-less sudo; otherwise says WHY and HOW to install it by hand, and stops.
apt_install() {
  local why="$1" how="$2" apt=""; shift 2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt="apt-get"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then apt="sudo apt-get"
  fi
  if [ -z "$apt" ]; then say "$why: $how and re-run."; exit 1; fi
  say "Installing $1 ($why)"
  $apt update -qq
  local package
  for package in "$@"; do
    DEBIAN_FRONTEND=noninteractive $apt install -y -qq "$package" >/dev/null && return
  done
  say "apt could not install any of: $*"; exit 1
}

ensure_java() {
  if command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null; then return; fi
  apt_install "Local Spark needs Java 17+" \
    "install a JRE (e.g. 'sudo apt-get install openjdk-17-jre-headless' or 'brew install openjdk@17')" \
    openjdk-17-jre-headless default-jre-headless
}

ensure_chromium() {
  # tests/delivery/test_viz.py drives Debian's chromium (MARVEL_CHROMIUM overrides the path).
  if [ -x "${MARVEL_CHROMIUM:-/usr/bin/chromium}" ]; then return; fi
  apt_install "The kedro-viz browser test needs Chromium" \
    "install it (e.g. 'sudo apt-get install chromium')" chromium
}

UV=""
ensure_uv() {
  if command -v uv >/dev/null 2>&1 && [ "$(uv --version | awk '{print $2}')" = "$UV_VERSION" ]; then
    UV="$(command -v uv)"; export MARVEL_UV="$UV"; return
  fi
  if [ ! -x .tools/uv/bin/uv ]; then
    say "Installing uv $UV_VERSION into .tools/uv"
    python3 -m venv .tools/uv
    .tools/uv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  fi
  UV="$PWD/.tools/uv/bin/uv"
  export MARVEL_UV="$UV"  # for tests and tools that run uv themselves (it is not on PATH)
}

setup() {
  ensure_java
  ensure_uv
  say "Syncing the locked environment (uv.lock)"
  "$UV" sync --frozen --extra local --quiet
}

kedro_() { "$UV" run --frozen --no-sync kedro "$@"; }

cmd="${1:-run}"; shift || true
case "$cmd" in
  setup) setup ;;
  run) setup; kedro_ run "$@" ;;
  test) setup; ensure_chromium; "$UV" run --frozen --no-sync pytest "$@" ;;
  lint) setup; "$UV" run --frozen --no-sync ruff check . && "$UV" run --frozen --no-sync ruff format --check . ;;
  viz) setup; kedro_ viz build "$@"; "$UV" run --frozen --no-sync marvel-mlops viz-serve --dir build ;;
  mlflow-ui) setup; "$UV" run --frozen --no-sync marvel-mlops mlflow-ui "$@" ;;
  serve) setup; "$UV" run --frozen --no-sync marvel-mlops serve "$@" ;;
  rollback) setup; "$UV" run --frozen --no-sync marvel-mlops rollback "$@" ;;
  replay) setup; "$UV" run --frozen --no-sync marvel-mlops replay "$@" ;;
  retrain-check) setup; "$UV" run --frozen --no-sync marvel-mlops retrain-check "$@" ;;
  kedro) setup; kedro_ "$@" ;;
  *) say "unknown command '$cmd' (run | test | setup | lint | viz | mlflow-ui | kedro | serve | rollback | replay | retrain-check)"; exit 2 ;;
esac
