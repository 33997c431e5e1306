# The REST model server (`marvel-mlops serve`): the project wheel with its locked dependencies
# (uv.lock, no dev tools, no pyspark), non-root, with a health check.
#
#   docker build -t marvel-serving .                 # the model comes from the registry at start
#   docker run -p 8080:8080 -v marvel-logs:/data \
#     -e MLFLOW_TRACKING_URI=... -e MARVEL_MODEL_URI=models:/marvel_character_model@champion \
#     marvel-serving
#
#   docker build --target baked --build-arg MODEL_VERSION=3 -t marvel-serving:model-3 .
#                                                    # the model of build/model/ baked in
#
# `bash project.sh image` does both with podman (README, "The serving container").
# Build arguments:
#   BASE_IMAGE   a Debian-based image with python3 3.11 or 3.12 (default: the public slim image;
#                project.sh uses a debootstrapped Debian bookworm where no registry is reachable)
#   UV_IMAGE     an image holding the uv binary at /uv (the version project.sh pins)
#   GIT_COMMIT, GIT_DIRTY, UV_LOCK_SHA256, MODEL_NAME, MODEL_VERSION: labels (traceability)
# A TLS-intercepting proxy's CA bundle can be given as the build secret `ca_bundle`; it never
# lands in the image.
ARG BASE_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${BASE_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never VIRTUAL_ENV=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# The locked dependencies first (a layer that changes only with uv.lock): the core of the
# lock without the `local` extra (pyspark) and without the dev group.
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    uv export --frozen --no-dev --no-emit-project --no-hashes -o /opt/requirements.txt \
    && uv venv --python python3 /opt/venv \
    && uv pip install --no-deps -r /opt/requirements.txt \
    && uv pip check

# The project as a wheel, with the uv.lock digest packaged into it (its own stage: a code
# change rebuilds only the wheel and its small layer in the runtime image).
FROM build AS wheel
COPY src ./src
ARG UV_LOCK_SHA256=
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export SSL_CERT_FILE=/run/secrets/ca_bundle; fi; \
    sha256sum uv.lock | cut -d ' ' -f 1 > src/marvel_mlops/uv.lock.sha256 \
    && if [ -n "$UV_LOCK_SHA256" ] && [ "$UV_LOCK_SHA256" != "$(cat src/marvel_mlops/uv.lock.sha256)" ]; then \
         echo "UV_LOCK_SHA256 ($UV_LOCK_SHA256) is not the digest of uv.lock" >&2; exit 1; fi \
    && uv build --wheel --out-dir /opt/dist

FROM ${BASE_IMAGE} AS runtime
# LightGBM needs OpenMP (libgomp1): installed unless the base image has it already.
RUN dpkg -s libgomp1 >/dev/null 2>&1 || { apt-get update \
      && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*; }
RUN useradd --create-home --uid 10001 --user-group serving \
    && mkdir /data && chown serving:serving /data
COPY --from=build /opt/venv /opt/venv
# COPY, not a bind mount from the wheel stage: podman (buildah) does not mount a stage that
# is fully cached, so a rebuild after the previous image was removed found no wheel.
COPY --from=wheel /opt/dist /tmp/dist
RUN --mount=type=bind,from=uv,source=/uv,target=/usr/local/bin/uv \
    uv pip install --python /opt/venv/bin/python --no-deps --compile-bytecode /tmp/dist/*.whl \
    && rm -rf /tmp/dist
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1 \
    MARVEL_PORT=8080 \
    MARVEL_MODEL_URI=models:/marvel_character_model@champion
USER 10001:10001
WORKDIR /home/serving
VOLUME ["/data"]
EXPOSE 8080
# Healthy = ready: a champion is loaded and scoring (the process answers before that).
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ['MARVEL_PORT'], timeout=2)"]
# `exec`: the server is PID 1 and receives SIGTERM itself, then flushes the inference log.
# The container's arguments are further flags (e.g. --ab-share 0.2 --shadow).
ENTRYPOINT ["/bin/sh", "-c", "exec marvel-mlops serve --host 0.0.0.0 --port \"$MARVEL_PORT\" \"$@\"", "marvel-mlops"]
CMD ["--inference-log-path", "/data/inference_log"]
ARG GIT_COMMIT=unknown
ARG GIT_DIRTY=unknown
ARG UV_LOCK_SHA256=
LABEL org.opencontainers.image.title="marvel-serving" \
      org.opencontainers.image.description="Marvel character survival model server (marvel-mlops serve)" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      io.marvel-mlops.git-dirty="${GIT_DIRTY}" \
      io.marvel-mlops.uv-lock-sha256="${UV_LOCK_SHA256}" \
      io.marvel-mlops.model-source="registry"

# The model baked in at build time: immutable, needs no registry at run time. build/model/ is
# an MLflow model directory (project.sh exports it from the registry).
FROM runtime AS baked
ARG MODEL_NAME=marvel_character_model
ARG MODEL_VERSION
RUN test -n "$MODEL_VERSION" || { echo "--build-arg MODEL_VERSION=<registry version> is required" >&2; exit 1; }
COPY --chown=10001:10001 build/model /opt/model
ENV MARVEL_MODEL_URI=/opt/model \
    MARVEL_MODEL_VERSION=${MODEL_VERSION}
LABEL io.marvel-mlops.model-source="baked" \
      io.marvel-mlops.model-name="${MODEL_NAME}" \
      io.marvel-mlops.model-version="${MODEL_VERSION}"

# The default target: the model comes from the MLflow registry (MARVEL_MODEL_URI) at start.
FROM runtime AS serving
