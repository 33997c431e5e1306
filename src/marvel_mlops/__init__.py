"""marvel-mlops: the MLOps loop of the Marvel characters survival model, with Kedro."""

import logging
import re
import warnings

# Library notices nobody running this project can act on, kept out of the console.
QUIET_WARNINGS = (
    r"register_new_resolver\(\) is deprecated",  # Kedro's own OmegaConf calls
    r".*Add type hints to the `predict` method",  # MLflow, on kedro-mlflow's PythonModel
    r"Hint: Inferred schema contains integer column",  # MLflow; the signature is explicit
    r"Support for class-based `config` is deprecated",  # pydantic, on kedro-mlflow's config
    r"The ``noload`` loader strategy is deprecated",  # SQLAlchemy, in MLflow's SQL store
    r"the load_module\(\) method is deprecated",  # an import hook of a dependency
)


_QUIET = re.compile("|".join(f"(?:{m})" for m in QUIET_WARNINGS))


def install_warning_filters() -> None:
    """Hides ``QUIET_WARNINGS``; every other warning is shown as before.

    A filter per message, and a ``showwarning`` that drops them too: MLflow emits some
    inside ``catch_warnings`` + ``simplefilter("once")``, which overrides any filter.
    Runs when the package is imported and, as a ``kedro.init`` plugin (pyproject.toml),
    when the ``kedro`` command starts, before it loads the other plugins, whose imports
    raise some of these.
    """
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    shown = warnings.showwarning
    if getattr(shown, "quiet", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
        if not _QUIET.search(str(message)):
            shown(message, category, filename, lineno, file, line)

    showwarning.quiet = True
    warnings.showwarning = showwarning


install_warning_filters()


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
