"""The election model: projects, a budget limit and a profile of ballots, all frozen.

Ballots are stored column-wise (compressed sparse rows in numpy arrays) so that half a
million voters fit in a few tens of megabytes; :meth:`Election.ballots` yields one
:class:`Ballot` per voter when a readable view is needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

import numpy as np

VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal", "scoring")
POINT_TYPES = ("cumulative", "scoring")


@dataclass(frozen=True)
class Project:
    """A project on the ballot: an id (a string), an exact cost and optional details."""

    id: str
    cost: Fraction
    name: str = ""
    category: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Ballot:
    """One voter's ballot: project ids (in order of preference for ordinal ballots).

    ``points`` is parallel to ``projects`` for cumulative and scoring ballots, else None.
    """

    voter_id: str
    projects: tuple[str, ...]
    points: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False)
class Election:
    """A participatory-budgeting election: projects, a budget limit and the ballots.

    The profile is in compressed sparse rows: voter ``v`` named the projects
    ``project_index[indptr[v]:indptr[v + 1]]`` (indices into ``projects``), with
    ``points[indptr[v]:indptr[v + 1]]`` for cumulative and scoring ballots (None for
    approval, choose-1 and ordinal ballots, whose order is the preference order).
    """

    projects: tuple[Project, ...]
    budget: Fraction
    vote_type: str
    voter_ids: tuple[str, ...]
    indptr: np.ndarray
    project_index: np.ndarray
    points: np.ndarray | None = None
    meta: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    voter_columns: tuple[str, ...] = ()
    voter_extra: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        for arr in (self.indptr, self.project_index, self.points):
            if arr is not None:
                arr.setflags(write=False)

    @property
    def num_voters(self) -> int:
        """Return the number of ballots (empty ballots included)."""
        return len(self.indptr) - 1

    def project_ids(self) -> tuple[str, ...]:
        """Return the project ids in file order."""
        return tuple(p.id for p in self.projects)

    def ballots(self) -> Iterator[Ballot]:
        """Yield one :class:`Ballot` per voter, in file order."""
        ids = self.project_ids()
        ptr = self.indptr.tolist()
        idx = self.project_index.tolist()
        pts = self.points.tolist() if self.points is not None else None
        for v, voter in enumerate(self.voter_ids):
            lo, hi = ptr[v], ptr[v + 1]
            yield Ballot(
                voter,
                tuple(ids[i] for i in idx[lo:hi]),
                tuple(pts[lo:hi]) if pts is not None else None,
            )

    def same_as(self, other: Election) -> bool:
        """Return True when both elections hold the same projects, budget and ballots."""
        return (
            self.projects == other.projects
            and self.budget == other.budget
            and self.vote_type == other.vote_type
            and self.voter_ids == other.voter_ids
            and np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.project_index, other.project_index)
            and (
                (self.points is None and other.points is None)
                or (
                    self.points is not None
                    and other.points is not None
                    and np.array_equal(self.points, other.points)
                )
            )
            and dict(self.meta) == dict(other.meta)
            and self.voter_columns == other.voter_columns
            and self.voter_extra == other.voter_extra
        )


def election_from_ballots(
    projects: list[Project] | tuple[Project, ...],
    budget: Fraction | int,
    ballots: list[Ballot] | tuple[Ballot, ...],
    vote_type: str = "approval",
    meta: Mapping[str, str] | None = None,
) -> Election:
    """Build an :class:`Election` from :class:`Ballot` objects (convenient for tests).

    Raise ``ValueError`` for an unknown project, a duplicate voter id, a bad cost or
    points given for the wrong ballot kind.
    """
    if vote_type not in VOTE_TYPES:
        raise ValueError(f"unknown vote type {vote_type!r}")
    index = {}
    for i, p in enumerate(projects):
        if p.id in index:
            raise ValueError(f"duplicate project id {p.id!r}")
        if p.cost <= 0:
            raise ValueError(f"project {p.id!r}: cost must be > 0")
        index[p.id] = i
    indptr = [0]
    flat: list[int] = []
    pts: list[int] = []
    seen: set[str] = set()
    for b in ballots:
        if b.voter_id in seen:
            raise ValueError(f"duplicate voter id {b.voter_id!r}")
        seen.add(b.voter_id)
        if (b.points is not None) != (vote_type in POINT_TYPES):
            raise ValueError(f"voter {b.voter_id!r}: points do not match vote type {vote_type}")
        for j, pid in enumerate(b.projects):
            if pid not in index:
                raise ValueError(f"voter {b.voter_id!r}: unknown project {pid!r}")
            flat.append(index[pid])
            if b.points is not None:
                value = int(b.points[j])
                if abs(value) > 2**62:  # int64 below; the tally limits are far lower
                    raise ValueError(f"voter {b.voter_id!r}: {value} points do not fit")
                pts.append(value)
        indptr.append(len(flat))
    full_meta = {"budget": str(budget), "vote_type": vote_type, "num_projects": str(len(projects))}
    full_meta["num_votes"] = str(len(ballots))
    if meta:
        full_meta.update(meta)
    return Election(
        projects=tuple(projects),
        budget=Fraction(budget),
        vote_type=vote_type,
        voter_ids=tuple(b.voter_id for b in ballots),
        indptr=np.asarray(indptr, dtype=np.int64),
        project_index=np.asarray(flat, dtype=np.int32),
        points=np.asarray(pts, dtype=np.int64) if vote_type in POINT_TYPES else None,
        meta=MappingProxyType(full_meta),
    )
