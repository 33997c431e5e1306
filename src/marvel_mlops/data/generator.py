"""A seeded generator of Marvel-like character data.

The real Kaggle file cannot be shipped, so the project writes a raw file of the same
shape: the same columns (with the unnamed pandas index first), similar marginals,
blanks, a long tail of rare universes, ``;``-separated teams and creators, duplicated
PageIDs and a few malformed rows. ``Alive`` follows a hidden logistic model with
interactions and noise, so a good model beats the majority class clearly without
reaching a perfect score.

``DriftSpec`` produces drifted batches for monitoring: shifted marginals, unseen
categories, shifted numeric values and a changed label relationship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marvel_mlops.data.generator_vocabulary import (
    CREATOR_EFFECT,
    CREATORS,
    FIRST_SYLLABLES,
    GENDERS,
    IDENTITIES,
    MAJOR_UNIVERSES,
    MARITAL,
    NOISE_SCALE,
    ORIGIN_EFFECT,
    ORIGINS,
    RARE_UNIVERSE_COUNT,
    RARE_UNIVERSE_SHARE,
    SECOND_SYLLABLES,
    TARGET_ALIVE_SHARE,
    TEAM_EFFECT,
    TEAMS,
    TITLES,
)
from marvel_mlops.data.schema import RAW_COLUMNS


@dataclass(frozen=True)
class DriftSpec:
    """How a generated batch departs from the reference distribution.

    Attributes:
        marginals: per raw column, category weights that replace the default ones
            (e.g. ``{"Gender": {"Female": 0.6, "Male": 0.4}}``).
        unseen_share: share of rows whose Universe and Origin are categories never
            seen in the reference data.
        height_shift: added to every present ``Height (m)``.
        height_present_share: share of rows with a height (reference: about 0.1).
        concept_shift: 0 keeps the label relationship; 1 reverses the main effects
            (origin, teams, creators), so a model trained before performs worse.
    """

    marginals: dict[str, dict[str, float]] = field(default_factory=dict)
    unseen_share: float = 0.0
    height_shift: float = 0.0
    height_present_share: float | None = None
    concept_shift: float = 0.0

    @classmethod
    def from_dict(cls, config: dict[str, Any] | None) -> DriftSpec:
        """Builds a spec from a parameters dictionary, rejecting unknown keys."""
        config = dict(config or {})
        unknown = set(config) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown drift option(s): {sorted(unknown)}")
        return cls(**config)


def _choice(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _universes(rng: np.random.Generator, n: int, weights: dict[str, float] | None) -> np.ndarray:
    if weights:
        return _choice(rng, weights, n)
    rare_names = np.array([f"Earth-{i}" for i in range(100_001, 100_001 + RARE_UNIVERSE_COUNT)])
    zipf = 1.0 / np.arange(1, RARE_UNIVERSE_COUNT + 1) ** 1.1
    probs = np.concatenate(
        [np.array(list(MAJOR_UNIVERSES.values())), zipf / zipf.sum() * RARE_UNIVERSE_SHARE]
    )
    names = np.concatenate([np.array(list(MAJOR_UNIVERSES), dtype=object), rare_names])
    return names[rng.choice(len(names), size=n, p=probs / probs.sum())]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    first = rng.choice(FIRST_SYLLABLES, n).astype(object) + rng.choice(SECOND_SYLLABLES, n)
    last = rng.choice(FIRST_SYLLABLES, n).astype(object) + rng.choice(SECOND_SYLLABLES, n)
    title = rng.choice(TITLES, n).astype(object)
    return title + first + " " + last


def _lists(rng: np.random.Generator, pool: list[str], counts: np.ndarray) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    weights /= weights.sum()
    picks = rng.choice(len(pool), size=(len(counts), int(counts.max(initial=0)) or 1), p=weights)
    pool_arr = np.array(pool, dtype=object)
    return np.array(
        ["; ".join(dict.fromkeys(pool_arr[row[:k]])) for row, k in zip(picks, counts, strict=True)],
        dtype=object,
    )


def _list_effect(values: np.ndarray, effects: dict[str, float]) -> np.ndarray:
    return np.array(
        [sum(effects.get(item.strip(), 0.0) for item in v.split(";")) if v else 0.0 for v in values]
    )


def _origin_effect(origins: np.ndarray) -> np.ndarray:
    lowered = pd.Series(origins).str.lower()
    effect = np.zeros(len(origins))
    for token, value in ORIGIN_EFFECT.items():
        effect += np.where(lowered.str.contains(token, regex=False), value, 0.0)
    return effect - np.where(lowered.isin(["", "unknown"]), 0.25, 0.0)


def _features(rng: np.random.Generator, n: int, drift: DriftSpec) -> pd.DataFrame:
    m = drift.marginals
    universe = _universes(rng, n, m.get("Universe"))
    origin = _choice(rng, m.get("Origin", ORIGINS), n)
    if drift.unseen_share > 0:
        unseen = rng.random(n) < drift.unseen_share
        universe = np.where(
            unseen, "Earth-NEW" + pd.Series(rng.integers(0, 5, n)).astype(str), universe
        )
        origin = np.where(unseen, rng.choice(["Nanite Swarm", "Quantum Echo"], n), origin)
    n_teams = np.minimum(rng.poisson(0.35, n) + (rng.random(n) < 0.15) * rng.integers(1, 6, n), 9)
    n_creators = np.where(rng.random(n) < 0.40, 0, 1 + rng.poisson(0.5, n))
    present = drift.height_present_share if drift.height_present_share is not None else 0.1
    has_height = rng.random(n) < present
    height = np.round(np.clip(rng.normal(1.8, 0.25, n) + drift.height_shift, 0.3, 20), 2)
    weight = np.round(np.clip(rng.lognormal(4.4, 0.35, n), 20, 2000), 1)
    has_weight = has_height & (rng.random(n) < 0.85) | (rng.random(n) < 0.01)
    return pd.DataFrame(
        {
            "Name": _names(rng, n),
            "Universe": universe,
            "Identity": _choice(rng, m.get("Identity", IDENTITIES), n),
            "Gender": _choice(rng, m.get("Gender", GENDERS), n),
            "Marital Status": _choice(rng, m.get("Marital Status", MARITAL), n),
            "Teams": _lists(rng, TEAMS, n_teams),
            "Height (m)": np.where(has_height, height, np.nan),
            "Weight (kg)": np.where(has_weight, weight, np.nan),
            "Origin": origin,
            "Creators": _lists(rng, CREATORS, n_creators),
        }
    )


def _logit_without_intercept(df: pd.DataFrame, concept_shift: float) -> np.ndarray:
    u = df["Universe"].to_numpy()
    universe = np.select(
        [
            u == "Earth-616",
            u == "Earth-199999",
            u == "Earth-1610",
            np.isin(u, list(MAJOR_UNIVERSES)),
        ],
        [0.0, 0.5, -0.6, -0.2],
        -0.7,
    )
    identity = df["Identity"].map({"Secret": 0.3, "Public": 0.0, "": -0.35}).fillna(0.1)
    gender = df["Gender"].map({"Male": 0.0, "Female": 0.35, "Agender": 0.3, "": -0.5}).fillna(0.0)
    marital = (
        df["Marital Status"]
        .map(
            {
                "": -0.1,
                "Single": 0.1,
                "Married": 0.35,
                "Widowed": -0.7,
                "Widow": -0.7,
                "Engaged": 0.2,
            }
        )
        .fillna(0.0)
    )
    n_teams = np.array([len(t.split(";")) if t else 0 for t in df["Teams"]])
    teams = np.select([n_teams == 0, n_teams <= 2, n_teams <= 4], [-0.35, 0.35, 0.7], 0.0)
    teams = teams + _list_effect(df["Teams"].to_numpy(), TEAM_EFFECT)
    creators = _list_effect(df["Creators"].to_numpy(), CREATOR_EFFECT)
    creators = creators + np.where(df["Creators"] == "", -0.3, 0.0)
    origin = _origin_effect(df["Origin"].to_numpy())
    documented = np.where(df["Height (m)"].notna(), 0.5, 0.0) + np.where(
        df["Weight (kg)"].fillna(0) > 150, 0.4, 0.0
    )
    mutant_elsewhere = np.where(
        df["Origin"].str.contains("Mutant", regex=False) & (u != "Earth-616"), -0.6, 0.0
    )
    titled = np.where(df["Name"].str.match(r"^(Doctor|Captain|Lord|Baron) "), 0.3, 0.0)
    reversible = teams + creators + origin
    sign = 1.0 - 2.0 * concept_shift
    return (
        universe
        + identity
        + gender
        + marital
        + documented
        + mutant_elsewhere
        + titled
        + sign * reversible
    )


def _intercept_for_share(logit: np.ndarray, noise: np.ndarray, share: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(60):
        mid = (low + high) / 2
        if (logit + noise + mid > 0).mean() < share:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _page_ids(names: pd.Series, universes: pd.Series) -> pd.Series:
    base = names.str.replace(" ", "_", regex=False) + "_(" + universes + ")"
    rank = base.groupby(base).cumcount()
    return base.where(rank == 0, base.str[:-1] + "_" + (rank + 1).astype(str) + ")")


def generate_characters(
    n_rows: int = 92_615, seed: int = 42, drift: DriftSpec | dict | None = None
) -> pd.DataFrame:
    """Returns clean Marvel-like characters in the raw schema (no messiness yet).

    The label is drawn from a hidden logistic model with noise; the intercept is
    calibrated on the undrifted population so that about 75.4 % are alive.
    """
    spec = drift if isinstance(drift, DriftSpec) else DriftSpec.from_dict(drift)
    rng = np.random.default_rng(seed)
    df = _features(rng, n_rows, spec)
    noise = rng.logistic(0.0, 1.0, n_rows) * NOISE_SCALE
    calibration = _features(np.random.default_rng(seed + 1), min(n_rows, 20_000), DriftSpec())
    calibration_logit = _logit_without_intercept(calibration, 0.0)
    intercept = _intercept_for_share(
        calibration_logit,
        np.random.default_rng(seed + 2).logistic(0, 1, len(calibration)) * NOISE_SCALE,
        TARGET_ALIVE_SHARE,
    )
    alive = _logit_without_intercept(df, spec.concept_shift) + noise + intercept > 0
    df["Alive"] = np.where(alive, "Alive", "Dead")
    df["PageID"] = _page_ids(df["Name"], df["Universe"])
    df["URL"] = "https://marvel.fandom.com/wiki/" + df["PageID"]
    return df[list(RAW_COLUMNS)]


def add_messiness(
    df: pd.DataFrame,
    seed: int = 42,
    duplicate_share: float = 0.004,
    malformed_share: float = 0.0015,
) -> pd.DataFrame:
    """Adds what real scraped data has: duplicated PageIDs and a few malformed rows."""
    rng = np.random.default_rng(seed + 7)
    n = len(df)
    duplicates = df.sample(n=int(n * duplicate_share), random_state=seed).copy()
    blank_out = rng.random(len(duplicates)) < 0.5
    duplicates.loc[blank_out, ["Teams", "Creators", "Marital Status"]] = ""
    out = pd.concat([df, duplicates], ignore_index=True)
    bad = rng.choice(len(out), size=int(n * malformed_share), replace=False)
    kinds = rng.integers(0, 5, len(bad))
    out = out.astype({"Height (m)": object, "Weight (kg)": object})
    out.loc[bad[kinds == 0], "Alive"] = ""
    out.loc[bad[kinds == 1], "Alive"] = "Unknown"
    out.loc[bad[kinds == 2], "PageID"] = ""
    out.loc[bad[kinds == 3], "Height (m)"] = "tall"
    out.loc[bad[kinds == 4], "Weight (kg)"] = "-80"
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def generate_raw(
    n_rows: int = 92_615,
    seed: int = 42,
    drift: DriftSpec | dict | None = None,
    duplicate_share: float = 0.004,
    malformed_share: float = 0.0015,
) -> pd.DataFrame:
    """Returns a raw file's worth of characters: realistic shape, messiness included."""
    return add_messiness(
        generate_characters(n_rows, seed, drift), seed, duplicate_share, malformed_share
    )


def write_raw_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Writes the frame like the Kaggle file: an unnamed index first, blanks as empty."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_csv(tmp, index=True)
    tmp.replace(path)
    return path
