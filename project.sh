#!/usr/bin/env bash
# The project's entry point for people and CI. Needs only Python 3.11+ and git; installs
# uv (pinned), the locked environment and, when missing, a Java runtime for local Spark.
#
#   bash project.sh run [kedro run options]   set up, then run the __default__ pipeline
#   bash project.sh test [pytest options]     set up, then run the tests
#   bash project.sh image [--bake MODEL_URI] [--tag NAME]   build the serving container (podman)
#   bash project.sh setup | lint | viz | mlflow-ui | kedro ... | serve | rollback | replay | retrain-check
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

UV_VERSION="0.13.9"
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 MLFLOW_ENABLE_ASYNC_LOGGING=false
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PWD/.venv/bin/python}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"  # local Spark binds to loopback anyway

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

ensure_pushgateway() {
  # tests/datasets/test_prometheus_metrics.py pushes to Debian's Pushgateway and scrapes it.
  if [ -x "${MARVEL_PUSHGATEWAY:-/usr/bin/prometheus-pushgateway}" ]; then return; fi
  apt_install "The Prometheus push test needs a Pushgateway" \
    "install it (e.g. 'sudo apt-get install prometheus-pushgateway')" prometheus-pushgateway
}

ensure_redis() {
  # tests/features_store/test_feast_store.py runs Feast's Redis online store on Debian's redis-server.
  if [ -x "${MARVEL_REDIS_SERVER:-/usr/bin/redis-server}" ]; then return; fi
  apt_install "The Redis online-store test needs redis-server" \
    "install it (e.g. 'sudo apt-get install redis-server')" redis-server
}

# The serving container is built and run with Debian's podman as root, with runc: crun fails
# on hybrid cgroups and setrlimit is not permitted on our machines, hence this containers.conf.
CONTAINERS_DIR="$PWD/.tools/containers"
install_podman() {
  local tool package missing=()
  for tool in podman runc debootstrap docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
  done
  for package in "${missing[@]}"; do
    apt_install "The serving container is built and run with podman" \
      "install podman, runc, debootstrap and docker-registry (or use Docker, see README)" "$package"
  done
}
containers_conf() {
  mkdir -p "$CONTAINERS_DIR"
  printf '%s\n' '[engine]' 'cgroup_manager = "cgroupfs"' 'runtime = "runc"' \
    '[containers]' 'default_ulimits = []' >"$CONTAINERS_DIR/containers.conf"
  export CONTAINERS_CONF="$CONTAINERS_DIR/containers.conf" PATH="$PATH:/usr/sbin"
}
ensure_podman() { install_podman; containers_conf; }

# Base images made here (no container registry is reachable): a debootstrapped Debian bookworm
# with Python 3.11, and the pinned uv binary; both are built once and reused.
BASE_IMAGE="localhost/marvel-bookworm-python:3.11"
UV_IMAGE="localhost/marvel-uv:$UV_VERSION"
ensure_base_images() {
  local dir
  if ! podman image exists "$BASE_IMAGE"; then
    dir="$(mktemp -d)"
    say "Making $BASE_IMAGE with debootstrap (once, about a minute)"
    debootstrap --variant=minbase --include=python3,python3-venv,libgomp1,ca-certificates \
      bookworm "$dir/root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
    rm -rf "$dir/root/var/cache/apt/archives/"*.deb "$dir/root/var/lib/apt/lists/"*
    tar -C "$dir/root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$dir"
  fi
  if ! podman image exists "$UV_IMAGE"; then
    dir="$(mktemp -d)"
    cp "$(readlink -f "$UV")" "$dir/uv"
    printf 'FROM scratch\nCOPY uv /uv\n' >"$dir/Containerfile"
    podman build -q -t "$UV_IMAGE" "$dir" >/dev/null
    rm -rf "$dir"
  fi
}

# build_image [--bake MODEL_URI] [--tag NAME]: the registry-following image, or with --bake the
# model of MODEL_URI (e.g. models:/marvel_character_model@champion, from the project's MLflow
# registry or MLFLOW_TRACKING_URI) baked in. Prints the image name last.
build_image() {
  local bake="" tag="" target="serving" version="" commit dirty lock ca=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --bake) bake="$2"; shift 2 ;;
      --tag) tag="$2"; shift 2 ;;
      *) say "image: unknown option '$1' (--bake MODEL_URI, --tag NAME)"; exit 2 ;;
    esac
  done
  ensure_base_images
  commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  dirty="$( [ -z "$(git status --porcelain -- src pyproject.toml uv.lock Dockerfile 2>/dev/null)" ] && echo false || echo true)"
  if [ -n "$bake" ]; then
    target="baked"
    version="$("$UV" run --frozen --no-sync python scripts/export_model.py "$bake" build/model)"
    tag="${tag:-localhost/marvel-serving:model-$version}"
  fi
  tag="${tag:-localhost/marvel-serving:latest}"
  [ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt)
  say "Building $tag (target $target, base $BASE_IMAGE)"
  lock="$(sha256sum uv.lock | cut -d ' ' -f 1)"
  # The labels are given again as --label: buildah reuses a cached LABEL step whose build
  # arguments changed, so the Dockerfile's labels alone could carry an older commit.
  podman build --format docker --network host --target "$target" "${ca[@]}" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg UV_IMAGE="$UV_IMAGE" \
    --build-arg GIT_COMMIT="$commit" --build-arg GIT_DIRTY="$dirty" \
    --build-arg UV_LOCK_SHA256="$lock" ${version:+--build-arg MODEL_VERSION="$version"} \
    --label org.opencontainers.image.revision="$commit" --label io.marvel-mlops.git-dirty="$dirty" \
    --label io.marvel-mlops.uv-lock-sha256="$lock" \
    ${version:+--label io.marvel-mlops.model-version="$version"} -t "$tag" . >&2
  echo "$tag"
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
  test) setup; ensure_chromium; ensure_pushgateway; ensure_redis
        # The container test skips (saying why) where apt cannot install podman.
        (install_podman) || say "podman is not installable here: the container test will be skipped"
        containers_conf; "$UV" run --frozen --no-sync pytest "$@" ;;
  lint) setup; "$UV" run --frozen --no-sync ruff check . && "$UV" run --frozen --no-sync ruff format --check . ;;
  viz) setup; kedro_ viz build "$@"; "$UV" run --frozen --no-sync marvel-mlops viz-serve --dir build ;;
  mlflow-ui) setup; "$UV" run --frozen --no-sync marvel-mlops mlflow-ui "$@" ;;
  serve) setup; "$UV" run --frozen --no-sync marvel-mlops serve "$@" ;;
  rollback) setup; "$UV" run --frozen --no-sync marvel-mlops rollback "$@" ;;
  replay) setup; "$UV" run --frozen --no-sync marvel-mlops replay "$@" ;;
  retrain-check) setup; "$UV" run --frozen --no-sync marvel-mlops retrain-check "$@" ;;
  kedro) setup; kedro_ "$@" ;;
  image) setup; ensure_podman; build_image "$@" ;;
  *) say "unknown command '$cmd' (run | test | setup | lint | viz | mlflow-ui | kedro | image | serve | rollback | replay | retrain-check)"; exit 2 ;;
esac
