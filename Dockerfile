# The REST model server (`marvel-mlops serve`), slim and non-root.
#
#   docker build -t marvel-serving .
#   docker run -p 8080:8080 \
#     -e MLFLOW_TRACKING_URI=... -e MARVEL_MODEL_URI=models:/marvel_character_model@champion \
#     -e MARVEL_SERVING_TOKEN=... -v marvel-logs:/data marvel-serving
#
# The model is given by URI at start (MARVEL_MODEL_URI): `models:/<name>@<alias>` follows
# the alias; `models:/<name>/<version>`, `runs:/...` or a mounted path serve one model.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 serving && mkdir /data && chown serving /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    MARVEL_MODEL_URI=models:/marvel_character_model@champion
USER serving
WORKDIR /home/serving
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
# Exec form: uvicorn receives SIGTERM itself and flushes the inference log before exiting.
ENTRYPOINT ["marvel-mlops", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["--inference-log-path", "/data/inference_log"]
