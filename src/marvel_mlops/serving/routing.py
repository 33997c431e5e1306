"""A/B assignment: a salted hash of PageID, so a character always gets the same variant."""

from __future__ import annotations

import hashlib

CHAMPION, CHALLENGER = "champion", "challenger"
_SCALE = float(2**64)


def bucket(page_id: str, salt: str) -> float:
    """A stable number in [0, 1) for ``page_id`` under ``salt``."""
    digest = hashlib.blake2b(f"{salt}\x00{page_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def variant_for(page_id: str | None, salt: str, challenger_share: float) -> str:
    """``challenger`` for a ``challenger_share`` of PageIDs, else ``champion``.

    Records without a PageID cannot be assigned stably and stay on the champion.
    """
    if challenger_share <= 0.0 or not page_id:
        return CHAMPION
    return CHALLENGER if bucket(page_id, salt) < challenger_share else CHAMPION
