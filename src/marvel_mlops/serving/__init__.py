"""The REST model server: FastAPI + uvicorn in front of the registered ``champion``.

* ``app.create_app`` builds the application (MLflow scoring protocol on ``/invocations``,
  typed ``/v1/predict``, health, readiness, version and Prometheus metrics).
* ``models.ModelWatcher`` follows the registry aliases and swaps fully loaded models in.
* ``inference_log.InferenceLogWriter`` appends every prediction to the ``inference_log``
  Delta table in micro-batches, off the request path.
* ``cli.main`` is ``marvel-mlops serve``.
"""
