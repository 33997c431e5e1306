"""Save options shared by the project's Delta datasets."""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError

ACCEPTED_MODES = ("overwrite", "append", "merge")
ACCEPTED_SAVE_ARGS = {
    "mode",
    "keys",
    "delete_missing",
    "timestamp_columns",
    "predicate",
    "partition_by",
}


def validated_save_args(save_args: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Checks the save options and fills defaults; names the bad option on error."""
    args = {"mode": "overwrite", **(save_args or {})}
    unknown = set(args) - ACCEPTED_SAVE_ARGS
    if unknown:
        raise DatasetError(
            f"{name}: unknown save_args {sorted(unknown)}; accepted: {sorted(ACCEPTED_SAVE_ARGS)}"
        )
    if args["mode"] not in ACCEPTED_MODES:
        raise DatasetError(
            f"{name}: save_args.mode '{args['mode']}' is not one of {ACCEPTED_MODES}"
        )
    if args["mode"] == "merge" and not args.get("keys"):
        raise DatasetError(f"{name}: save_args.mode 'merge' needs save_args.keys")
    return args
