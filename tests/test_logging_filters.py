"""The console's logging configuration drops only the notices it names."""

import logging
import logging.config

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
