"""What nodes know of the model registry and ask it to do, as plain data.

Nodes compute these values; the registry datasets (``marvel_mlops.datasets.model_registry``)
read the registry into an ``AliasState`` and carry out an ``AliasPlan`` or a
``RegistrationRequest``. Nothing here talks to MLflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

CHALLENGER, CHAMPION, PREVIOUS_CHAMPION = "challenger", "champion", "previous-champion"
SERVING_ALIASES = (CHALLENGER, CHAMPION, PREVIOUS_CHAMPION)
PREDECESSOR_TAG = "previous_champion_version"
"""Set on a version when it becomes champion: the champion it replaced (the rollback chain)."""
ROLLED_BACK_TAG = "rolled_back"
ROLLED_BACK_VERSIONS_TAG = "rolled_back_versions"
"""A tag of the registered model: every version rolled back, comma-separated. Kept on the
model as well as on each version because a rolled-back version has no alias left to be
found by, and Unity Catalog's version search returns no tags."""


@dataclass(frozen=True)
class AliasState:
    """A model's serving aliases and the tags of the versions they lead to (through
    ``PREDECESSOR_TAG``), as read from the registry."""

    model_name: str
    aliases: dict[str, str] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    model_tags: dict[str, str] = field(default_factory=dict)

    def version(self, alias: str) -> str | None:
        """The version behind ``alias``, or ``None``."""
        return self.aliases.get(alias)

    def version_tags(self, version: str) -> dict[str, str]:
        """The tags of ``version`` (empty when the state did not read them)."""
        return self.tags.get(str(version), {})

    def rolled_back_versions(self) -> list[str]:
        """Every version rolled back so far, oldest number first."""
        listed = {v for v in self.model_tags.get(ROLLED_BACK_VERSIONS_TAG, "").split(",") if v}
        tagged = {v for v, t in self.tags.items() if t.get(ROLLED_BACK_TAG) == "true"}
        return sorted(listed | tagged, key=int)

    def rolled_back(self, version: str) -> bool:
        """Whether ``version`` was rolled back once (it may not serve again)."""
        return str(version) in self.rolled_back_versions()


@dataclass(frozen=True)
class AliasPlan:
    """Alias and tag changes for one model; applied tags first, then aliases."""

    model_name: str
    set_aliases: dict[str, str] = field(default_factory=dict)
    delete_aliases: tuple[str, ...] = ()
    tag_versions: dict[str, dict[str, str]] = field(default_factory=dict)
    tag_model: dict[str, str] = field(default_factory=dict)

    def applied_to(self, state: AliasState) -> AliasState:
        """The state the registry will be in once this plan is carried out."""
        aliases = {a: v for a, v in state.aliases.items() if a not in self.delete_aliases}
        tags = {v: dict(t) for v, t in state.tags.items()}
        for version, new in self.tag_versions.items():
            tags.setdefault(version, {}).update(new)
        model_tags = state.model_tags | self.tag_model
        return AliasState(state.model_name, aliases | self.set_aliases, tags, model_tags)


@dataclass(frozen=True)
class RegistrationRequest:
    """A model to log in the active MLflow run, register, tag and point an alias at."""

    python_model: Any
    signature: Any  # mlflow.models.ModelSignature
    input_example: pd.DataFrame
    tags: dict[str, str]
    training_rows: pd.DataFrame
    train_set_version: dict[str, Any]
    test_set_version: dict[str, Any]
    hyperparameters: dict[str, Any]


def serving_lookups(tags: dict[str, str]) -> dict[str, list[str]]:
    """Each feature table (its full name, from the ``<name>_table`` tag) → the columns that
    the ``feature_spec`` tag says the model looks up in it; empty when it looks nothing up."""
    lookups = json.loads(tags.get("feature_spec") or "{}").get("lookups", {})
    missing = [
        f"{name}_table" for name, cols in lookups.items() if cols and f"{name}_table" not in tags
    ]
    if missing:
        raise ValueError(f"registration tags: {missing[0]!r} missing (the feature table's name)")
    return {tags[f"{name}_table"]: list(cols) for name, cols in lookups.items() if cols}
