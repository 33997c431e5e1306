"""marvel-mlops: the MLOps loop of the Marvel characters survival model, with Kedro."""

import logging
import re
import warnings

# Library notices nobody running this project can act on, kept out of the console. Set
# here because the package is imported before any of its modules (and before Kedro reads
# settings.py).
for _message in (
    r"register_new_resolver\(\) is deprecated",  # Kedro's own OmegaConf calls
    r".*Add type hints to the `predict` method",  # MLflow; the pyfunc has a signature
    r"Hint: Inferred schema contains integer column",  # MLflow; the signature is explicit
):
    warnings.filterwarnings("ignore", message=_message)


class _DropMessages(logging.Filter):
    """Drops log records whose message matches ``pattern``; every other record passes."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self._pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self._pattern.search(record.getMessage())


# MLflow notices about choices made on purpose: the pyfunc is logged as a Python object
# (CloudPickle); the uv-made environment has no pip, and the model pins its requirements.
# (Filters on the loggers, not in conf/logging.yml: Kedro refuses factories there.)
logging.getLogger("mlflow.pyfunc").addFilter(
    _DropMessages(r"Passing a Python object as `python_model`")
)
logging.getLogger("mlflow.utils.environment").addFilter(
    _DropMessages(r"Failed to resolve installed pip version")
)
