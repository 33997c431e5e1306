"""marvel-mlops: the MLOps loop of the Marvel characters survival model, with Kedro."""

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
