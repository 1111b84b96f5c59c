"""Sampling from a public seed, exactly as Rivest's ``sampler.py`` (2011) does it.

The i-th pick (i = 1, 2, ...) is ``int(SHA-256(seed + "," + str(i)), 16) mod N + 1``, a
position in 1..N; sampling is with replacement, so a position may come up twice (the
same sheet then counts twice, as the risk measure assumes). Position k is the k-th sheet
of the manifest: boxes in the manifest's order, sheets in each box by ballot number.
Growing the sample continues the counter, so the first n picks never change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SEED_DIGITS = 20
MAX_SEED_DIGITS = 200
_SEED_RE = re.compile(r"[0-9]+")


class SeedError(ValueError):
    """The seed is not 20 to 200 decimal digits."""


def check_seed(seed: str) -> str:
    """Return the seed without spaces; raise :class:`SeedError` unless it is 20-200 digits.

    Spaces between the dice groups are allowed (and dropped), nothing else.
    """
    if not isinstance(seed, str):
        raise SeedError("the seed must be text")
    compact = "".join(seed.split())
    if not _SEED_RE.fullmatch(compact) or not MIN_SEED_DIGITS <= len(compact) <= MAX_SEED_DIGITS:
        raise SeedError(f"the seed must be {MIN_SEED_DIGITS} to {MAX_SEED_DIGITS} digits rolled with dice")
    return compact


def ticket(seed: str, counter: int) -> int:
    """Return the 256-bit ticket number SHA-256(seed + "," + counter) as an integer."""
    return int(hashlib.sha256(f"{seed},{counter}".encode()).hexdigest(), 16)


def ticket_index(seed: str, counter: int, total: int) -> int:
    """Return the position (1..total) the counter-th pick selects: Rivest's a + (x mod N)."""
    if total <= 0:
        raise ValueError("the manifest holds no sheet")
    return ticket(seed, counter) % total + 1


@dataclass(frozen=True)
class Draw:
    """One pick: its counter, the position in the manifest, and the sheet (box, number)."""

    counter: int
    position: int
    box: str
    number: int


def locate(manifest: Sequence[tuple[str, Sequence[int]]], position: int) -> tuple[str, int]:
    """Return (box, ballot number) of the position-th sheet (1-based) of the manifest.

    ``manifest``: (box label, its sheets' ballot numbers in increasing order) per box.
    """
    left = position
    for box, numbers in manifest:
        if left <= len(numbers):
            return box, numbers[left - 1]
        left -= len(numbers)
    raise ValueError(f"position {position} is beyond the manifest")


def draw_sample(seed: str, manifest: Sequence[tuple[str, Sequence[int]]], count: int,
                start: int = 0) -> list[Draw]:
    """Return picks ``start+1 .. start+count`` of the sample (with replacement)."""
    seed = check_seed(seed)
    total = sum(len(numbers) for _box, numbers in manifest)
    draws = []
    for counter in range(start + 1, start + count + 1):
        position = ticket_index(seed, counter, total)
        box, number = locate(manifest, position)
        draws.append(Draw(counter, position, box, number))
    return draws
