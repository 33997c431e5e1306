"""The console's logging configuration drops only the notices it names."""

import logging
import logging.config
import subprocess
import sys

import yaml

from tests.conftest import PROJECT_ROOT


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_console_drops_the_cloudpickle_notice_and_keeps_other_warnings():
    import marvel_mlops  # noqa: F401 - installs the filter

    logging.config.dictConfig(yaml.safe_load((PROJECT_ROOT / "conf/logging.yml").read_text()))
    log, collect = logging.getLogger("mlflow.pyfunc"), Collect()
    log.addHandler(collect)
    try:
        log.warning("Passing a Python object as `python_model` causes it to be serialized ...")
        log.warning("The version of Python that the model was saved in differs")
    finally:
        log.removeHandler(collect)
    assert collect.messages == ["The version of Python that the model was saved in differs"]


QUIET_SAMPLES = (
    "\x1b[33mAdd type hints to the `predict` method to enable data validation\x1b[0m",
    "Support for class-based `config` is deprecated, use ConfigDict instead.",
    "The ``noload`` loader strategy is deprecated and will be removed in a future release.",
    "the load_module() method is deprecated and slated for removal in Python 3.12",
)


def test_named_library_notices_are_hidden_even_under_a_once_filter_and_others_shown():
    """MLflow warns inside ``catch_warnings`` + ``simplefilter("once")``, which outranks any
    message filter: the notices must still stay out of the console, and nothing else."""
    script = (
        "import warnings, marvel_mlops\n"
        f"for message in {QUIET_SAMPLES!r}:\n"
        "    with warnings.catch_warnings():\n"
        "        warnings.simplefilter('once', category=UserWarning)\n"
        "        warnings.warn(message, UserWarning)\n"
        "    warnings.warn(message, DeprecationWarning)\n"
        "warnings.warn('a notice someone can act on', UserWarning)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", script], capture_output=True, text=True, check=True
    )
    assert "a notice someone can act on" in result.stderr
    assert not [s for s in QUIET_SAMPLES if s[:30] in result.stderr], result.stderr


def test_the_kedro_command_starts_without_the_plugins_import_notices():
    """``kedro`` loads kedro-mlflow's CLI (whose PythonModel makes MLflow warn) before our
    package: the ``kedro.init`` plugin hides the notice first."""
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert "- __default__" in result.stdout
    assert "Add type hints" not in result.stderr, result.stderr
