"""Grouping: same request + same place, within one community.

Each text is analysed once (:func:`analyze`): its request concept (lexicon), its
place mentions (patterns) and its character bigrams. Grouping then works per
community in three steps:

1. **Names**: place names of the community are tied together (税务宿舍 ~ 老税务局宿舍,
   二东路 ~ 海甸二东路, 海达 ~ 海达小区, 江边 ~ 滨江路), and each text gets a key
   ``(request, area, sub)`` where ``sub`` is the building, gate or lane section.
2. **Keys**: texts with the same full key form a cluster.
3. **Partial keys** join the dominant compatible cluster: "3栋楼道黑" joins the one
   estate's 3栋 楼道灯 cluster, a text naming no place joins the largest cluster of
   its request, a vague 文艺演出 joins its family's largest cluster. A text whose
   request is not recognised joins its most similar neighbour (character bigrams)
   when the similarity is high, or stays alone.

Nothing crosses communities. The result is deterministic: cluster numbers follow the
order of first appearance.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from civicbudget.textmatch.lexicon import BY_NAME, Request, find_request
from civicbudget.textmatch.normalize import normalize
from civicbudget.textmatch.places import (
    COMMUNITY,
    ESTATE,
    ROAD,
    SCHOOL,
    AreaMention,
    PlaceMention,
    extract_places,
    same_area,
)

NEIGHBOUR_THRESHOLD = 0.5
# Bumped whenever the lexicon or the place patterns change, so stored analyses are redone.
ANALYSIS_VERSION = 1
_SHORE_RANK = {"公园": 0, "步道": 0, "海滩": 0, "沙滩": 0, "河": 1, "溪": 1, "江": 1, "湖": 1, "路": 2, "大道": 2}  # fmt: skip
MAX_POSTING = 5000  # bigrams in more texts than this are too common to point anywhere
# place words that name a place on their own when the community has only one of them
_HEAD_ALONE = {"新苑", "新村", "宿舍", "老街", "公园", "渔港", "码头", "桥头", "步道", "市场", "学校",
               "小学", "中学", "海滩", "沙滩", "码头路", "夜市", "广场"}  # fmt: skip
_PUNCT = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Analysis:
    """What one text asks for and where, computed once per text."""

    text: str
    normalized: str
    request: Request
    places: PlaceMention
    grams: frozenset[str]

    def to_dict(self) -> dict:
        """A JSON-serialisable form, e.g. to store beside the proposal."""
        p = self.places
        return {
            "v": ANALYSIS_VERSION,
            "text": self.text,
            "normalized": self.normalized,
            "request": [self.request.concept, self.request.family, self.request.scope,
                        self.request.score, [list(x) for x in self.request.scores]],
            "areas": [[m.name, m.stem, m.head, m.kind, m.pos] for m in p.areas],
            "buildings": list(p.buildings),
            "gates": list(p.gates),
            "lanes": list(p.lanes),
            "shores": list(p.shores),
            "whole": p.whole,
            "grams": sorted(self.grams),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> Analysis:
        """Inverse of :meth:`to_dict`; re-analyses the text if the format is older."""
        if d.get("v") != ANALYSIS_VERSION:
            return analyze(d["text"])
        concept, family, scope, score, scores = d["request"]
        return cls(
            text=d["text"],
            normalized=d["normalized"],
            request=Request(concept, family, scope, score, tuple((n, w) for n, w in scores)),
            places=PlaceMention(
                areas=tuple(AreaMention(*m) for m in d["areas"]),
                buildings=tuple(d["buildings"]),
                gates=tuple(d["gates"]),
                lanes=tuple(d["lanes"]),
                shores=tuple(d["shores"]),
                whole=d["whole"],
            ),
            grams=frozenset(sys.intern(g) for g in d["grams"]),
        )


@dataclass(frozen=True)
class Place:
    """A resolved place: ``area`` (canonical name or None), ``sub`` (building 3,
    gate 东门, lane 3巷, or None) and ``label`` for display."""

    area: str | None
    sub: str | None

    @property
    def label(self) -> str:
        if self.area is None and self.sub is None:
            return "社区"
        sub = self.sub or ""
        if sub and sub[0].isalnum() and not sub.endswith(("门", "巷")):
            sub = f"{sub.upper()}栋"
        return f"{self.area or '?'}{sub}"


@dataclass(frozen=True)
class Gazetteer:
    """What the platform knows about places, passed in by the caller.

    ``places``: names of estates, roads, schools and landmarks of the district (registered by
    officers or revealed by accepted merges). ``admin``: names of the city, district, streets
    and communities, stripped from the front of a place (X区Y小区 is Y小区) and never a specific
    place on their own.
    """

    places: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuggestedGroup:
    """A suggested project: member indices (or ids), the shared request and place."""

    cluster: int
    members: tuple[Hashable, ...]
    group: Hashable
    request: str | None
    place: str
    texts: tuple[str, ...]
    # why: the key phrases the members share and how alike they are (0..1)
    phrases: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class Similarity:
    """Why two texts do or do not ask for the same thing in the same place."""

    score: float
    same_request: bool
    same_place: bool
    request_a: str | None
    request_b: str | None
    place_a: str
    place_b: str
    text_overlap: float

    @property
    def same(self) -> bool:
        return self.same_request and self.same_place


def _bigrams(text: str) -> frozenset[str]:
    s = _PUNCT.sub("", text).replace("_", "")
    if len(s) < 2:
        return frozenset({s}) if s else frozenset()
    # interned: 300,000 texts share a few thousand distinct bigrams
    return frozenset(sys.intern(s[i : i + 2]) for i in range(len(s) - 1))


def analyze(text: str) -> Analysis:
    """Analyse one text (pure, cacheable: the platform stores it at submission)."""
    norm = normalize(text)
    return Analysis(
        text=text,
        normalized=norm,
        request=find_request(norm),
        places=extract_places(norm),
        grams=_bigrams(norm),
    )


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two bigram sets."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


# ---------------------------------------------------------------------------
# Place names within one community


class _Names:
    """The place names of one community, tied together by :func:`same_area`."""

    def __init__(self, analyses: Sequence[Analysis]):
        counts: Counter[tuple[str, str]] = Counter()
        mentions: dict[tuple[str, str], AreaMention] = {}
        for a in analyses:
            for m in a.places.areas:
                if m.kind == COMMUNITY or not m.stem:
                    continue
                counts[(m.kind, m.name)] += 1
                mentions.setdefault((m.kind, m.name), m)
        keys = sorted(counts, key=lambda k: (-counts[k], -len(k[1]), k))
        parent = {k: k for k in keys}

        def find(k: tuple[str, str]) -> tuple[str, str]:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        rank = {k: i for i, k in enumerate(keys)}
        # candidates by exact stem and by exact name, so that containment is found by
        # looking up the substrings of each name (linear in the number of names)
        by_stem: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        by_name: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for k in keys:
            by_stem[(k[0], mentions[k].stem)].append(k)
            by_name[(k[0], k[1])].append(k)
        for ki in keys:
            m = mentions[ki]
            cands: list[tuple[str, str]] = []
            for sub in _substrings(m.stem):
                cands.extend(by_stem.get((ki[0], sub), ()))
            if m.kind == ESTATE:
                for sub in _substrings(m.name):
                    cands.extend(by_name.get((ki[0], sub), ()))
            for kj in cands:
                if kj != ki and same_area(m, mentions[kj]):
                    ri, rj = find(ki), find(kj)
                    if ri != rj:
                        # the more frequent name becomes the canonical one
                        if rank[ri] < rank[rj]:
                            parent[rj] = ri
                        else:
                            parent[ri] = rj
        self.canonical = {k: find(k)[1] for k in keys}
        self.kind = {find(k)[1]: k[0] for k in keys}
        self.heads = {find(k)[1]: mentions[find(k)].head for k in keys}
        self.mentions = mentions
        roots = {find(k) for k in keys}
        self.by_head: dict[str, list[str]] = defaultdict(list)
        for k in roots:
            self.by_head[mentions[k].head].append(k[1])
        # Estate stems usable bare (海达 for 海达小区), when unambiguous.
        stems: dict[str, set[str]] = defaultdict(set)
        for k in keys:
            m = mentions[k]
            if m.kind == ESTATE and len(m.stem) >= 2:
                stems[m.stem].add(self.canonical[k])
        self.estate_stems = {s: next(iter(v)) for s, v in stems.items() if len(v) == 1}
        self._stem_re = (
            re.compile(
                "("
                + "|".join(re.escape(s) for s in sorted(self.estate_stems, key=len, reverse=True))
                + r")(?=[0-9a-h]|那|这|的|得|边|小区)"
            )
            if self.estate_stems
            else None
        )

    def resolve(self, a: Analysis) -> list[tuple[str, str]]:
        """Canonical (kind, name) areas named in ``a``, in order of appearance."""
        out: list[tuple[int, str, str]] = []
        for m in a.places.areas:
            if m.kind == COMMUNITY:
                continue
            if m.stem:
                name = self.canonical.get((m.kind, m.name))
                if name:
                    out.append((m.pos, self.kind[name], name))
                continue
            # head only (老街, 公园, 宿舍, 学校): the community's only such place
            if m.head not in _HEAD_ALONE:
                continue
            if m.kind == SCHOOL:
                options = [n for n, k in self.kind.items() if k == SCHOOL]
            else:
                options = self.by_head.get(m.head, [])
            if len(options) == 1:
                out.append((m.pos, self.kind[options[0]], options[0]))
        if self._stem_re is not None:
            for m in self._stem_re.finditer(a.normalized):
                name = self.estate_stems[m.group(1)]
                if not any(n == name for _, _, n in out):
                    out.append((m.start(), ESTATE, name))
        for shore in a.places.shores:
            pos = a.normalized.find(shore + "边")
            if any(shore in n for _, k, n in out if k != ESTATE):
                continue
            # 江边 / 湖边: a park or walkway by that water, else the water, else a road
            rank = {n: _SHORE_RANK[self.heads[n]] for n in self.kind if shore in n and self.heads[n] in _SHORE_RANK}  # fmt: skip
            if rank:
                order = sorted(rank, key=lambda n: (rank[n], n))
                if len(order) == 1 or rank[order[0]] < rank[order[1]]:
                    out.append((pos, self.kind[order[0]], order[0]))
        out.sort()
        seen: list[tuple[str, str]] = []
        for _, k, n in out:
            if (k, n) not in seen:
                seen.append((k, n))
        return seen


def _substrings(s: str) -> set[str]:
    return {s[i:j] for i in range(len(s)) for j in range(i + 1, len(s) + 1)}


def _place(a: Analysis, names: _Names) -> Place:
    req = a.request
    areas = names.resolve(a)
    if req.scope == "service":
        # only a school named in full makes a service local (府城小学 防欺凌讲座)
        named = {names.canonical.get((m.kind, m.name)) for m in a.places.areas}
        schools = [n for k, n in areas if k == SCHOOL and n in named]
        return Place(schools[0] if schools else None, None)
    area = areas[0][1] if areas else None
    if req.scope == "area":
        estates = [n for k, n in areas if k == ESTATE]
        return Place(estates[0] if estates else area, None)
    p = a.places
    if p.buildings and not p.whole:
        # a building belongs to an estate (or a road for house numbers), not a park
        estates = [n for k, n in areas if k in (ESTATE, ROAD)]
        return Place(estates[0] if estates else None, p.buildings[0])
    if p.gates:
        estates = [n for k, n in areas if k == ESTATE]
        return Place(estates[0] if estates else None, p.gates[0])
    if p.lanes:
        # a lane section belongs to a road, or to an estate named in full (港湾家园二巷)
        named = {names.canonical.get((m.kind, m.name)) for m in p.areas}
        roads = [n for k, n in areas if k == ROAD] or [
            n for k, n in areas if k == ESTATE and n in named
        ]
        return Place(roads[0] if roads else None, p.lanes[0])
    return Place(area, None)


# ---------------------------------------------------------------------------
# Clustering


def _cluster_group(analyses: Sequence[Analysis]) -> list[tuple]:
    """Keys (request, area, sub) for the texts of one community."""
    names = _Names(analyses)
    keys: list[tuple | None] = []
    for a in analyses:
        if a.request.concept is None:
            keys.append(None)
            continue
        place = _place(a, names)
        keys.append((a.request.concept, place.area, place.sub))

    full = Counter(k for k in keys if k is not None and k[1] is not None)
    # the dominant fully placed cluster per request, and per (request, building/gate/lane)
    order = sorted(full, key=lambda k: (-full[k], str(k)))
    top_by_concept: dict[str, tuple] = {}
    top_by_sub: dict[tuple[str, str], tuple] = {}
    for k in order:
        top_by_concept.setdefault(k[0], k)
        if k[2] is not None:
            top_by_sub.setdefault((k[0], k[2]), k)

    resolved: list[tuple | None] = []
    for k in keys:
        if k is None or k[1] is not None or BY_NAME[k[0]].scope == "service":
            resolved.append(k)
        elif k[2] is not None:
            resolved.append(top_by_sub.get((k[0], k[2]), k))
        else:
            resolved.append(top_by_concept.get(k[0], k))

    # vague members of a family join the family's largest cluster with the same place
    counts = Counter(k for k in resolved if k is not None)
    top_in_family: dict[tuple, tuple] = {}
    for c in sorted(counts, key=lambda c: (-counts[c], str(c))):
        concept = BY_NAME[c[0]]
        if not concept.generic:
            top_in_family.setdefault((concept.family, *c[1:]), c)
    final: list[tuple | None] = []
    for k in resolved:
        if k is not None and BY_NAME[k[0]].generic:
            k = top_in_family.get((BY_NAME[k[0]].family, *k[1:]), k)
        final.append(k)

    # unrecognised requests: nearest earlier neighbour by wording, or alone
    out: list[tuple] = []
    index: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(final):
        if k is not None:
            for g in analyses[i].grams:
                index[g].append(i)
    for i, k in enumerate(final):
        if k is not None:
            out.append(k)
            continue
        votes: Counter[int] = Counter()
        for g in analyses[i].grams:
            posting = index.get(g, ())
            if len(posting) <= MAX_POSTING:
                votes.update(posting)
        best_j, best_s = -1, 0.0
        for j, _ in votes.most_common(50):
            sim = overlap(analyses[i].grams, analyses[j].grams)
            if sim > best_s or (sim == best_s and j < best_j):
                best_j, best_s = j, sim
        if best_j >= 0 and best_s >= NEIGHBOUR_THRESHOLD:
            out.append(final[best_j] if final[best_j] is not None else out[best_j])
        else:
            out.append(("?", i, None))
        for g in analyses[i].grams:
            index[g].append(i)
    return out


def _groups_of(n: int, groups: Sequence[Hashable] | None) -> list[Hashable]:
    if groups is None:
        return [""] * n
    if len(groups) != n:
        raise ValueError(f"{n} texts but {len(groups)} groups")
    return list(groups)


def cluster_keys(
    analyses: Sequence[Analysis], groups: Sequence[Hashable] | None = None
) -> list[tuple]:
    """Cluster keys ``(group, request, area, sub)`` for pre-computed analyses."""
    gs = _groups_of(len(analyses), groups)
    by_group: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(gs):
        by_group[g].append(i)
    keys: list[tuple] = [()] * len(analyses)
    for g, idx in by_group.items():
        for i, k in zip(idx, _cluster_group([analyses[i] for i in idx]), strict=True):
            keys[i] = (g, *k)
    return keys


def cluster_analyses(
    analyses: Sequence[Analysis],
    groups: Sequence[Hashable] | None = None,
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    gazetteer: Gazetteer | None = None,
) -> list[int]:
    """Cluster numbers (0, 1, ... in order of first appearance) for analyses.

    ``must_link`` and ``cannot_link`` are pairs of indices that officers have decided
    (merged, or split apart); ``gazetteer`` the places the platform knows.
    """
    numbers: dict[tuple, int] = {}
    raw = []
    for k in cluster_keys(analyses, groups):
        raw.append(numbers.setdefault(k, len(numbers)))
    return _apply_links(raw, must_link, cannot_link)


def _apply_links(numbers: list[int], must_link, cannot_link) -> list[int]:
    n = len(numbers)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[int, int] = {}
    for i, c in enumerate(numbers):
        if c in first:
            parent[find(i)] = find(first[c])
        else:
            first[c] = i
    cannot = {(min(a, b), max(a, b)) for a, b in cannot_link if a != b}
    for a, b in cannot:
        if find(a) == find(b):
            parent[b] = b  # the later one leaves the cluster
            for i in range(n):
                if i != b and parent[i] == b:
                    parent[i] = i
    for a, b in must_link:
        parent[find(a)] = find(b)
    out: list[int] = []
    seen: dict[int, int] = {}
    for i in range(n):
        out.append(seen.setdefault(find(i), len(seen)))
    return out


def cluster(texts: Sequence[str], groups: Sequence[Hashable] | None = None) -> list[int]:
    """Group texts that ask for the same thing in the same place.

    ``groups`` (e.g. the community of each text) is optional; texts in different
    groups never share a cluster. Returns one cluster number per text, numbered
    0, 1, ... in order of first appearance; deterministic.
    """
    return cluster_analyses([analyze(t) for t in texts], groups)


def suggest_groups(
    texts: Sequence[str],
    groups: Sequence[Hashable] | None = None,
    ids: Sequence[Hashable] | None = None,
    min_size: int = 2,
    analyses: Sequence[Analysis] | None = None,
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    gazetteer: Gazetteer | None = None,
) -> list[SuggestedGroup]:
    """Suggested projects for a merge workbench, largest first.

    Each :class:`SuggestedGroup` lists its members (``ids`` if given, else indices),
    the shared request and place label, and the member texts. Groups smaller than
    ``min_size`` are left out. Pass stored ``analyses`` (one per text) to skip the
    per-text work.
    """
    if analyses is None:
        analyses = [analyze(t) for t in texts]
    elif len(analyses) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(analyses)} analyses")
    keys = cluster_keys(analyses, groups)
    numbers = cluster_analyses(analyses, groups, must_link=must_link, cannot_link=cannot_link,
                               gazetteer=gazetteer)
    members: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(numbers):
        members[n].append(i)
    gs = _groups_of(len(texts), groups)
    out = []
    for n, idx in members.items():
        if len(idx) < min_size:
            continue
        key = keys[idx[0]]
        request = key[1] if key[1] != "?" else None
        place = Place(key[2], key[3]).label if request else "?"
        out.append(
            SuggestedGroup(
                cluster=n,
                members=tuple(ids[i] if ids is not None else i for i in idx),
                group=gs[idx[0]],
                request=request,
                place=place,
                texts=tuple(texts[i] for i in idx),
            )
        )
    out.sort(key=lambda g: (-len(g.members), g.cluster))
    return out


def similarity(a: str, b: str, context: Sequence[str] = ()) -> Similarity:
    """Compare two texts of the same community and explain the verdict.

    ``context`` (other texts of the same community) helps to tie place names, e.g.
    that a bare 3栋 is 海达小区3栋. ``score`` is 1.0 when the two would be grouped;
    otherwise 0.5 for the same request at different places, plus up to 0.3 for
    shared wording.
    """
    analyses = [analyze(a), analyze(b), *(analyze(t) for t in context)]
    aa, ab = analyses[0], analyses[1]
    ka, kb = _cluster_group(analyses)[:2]
    names = _Names(analyses)
    # the resolved place (a bare 3栋 becomes 海达小区3栋 when the context says so)
    pa = Place(ka[1], ka[2]) if ka[0] != "?" else _place(aa, names)
    pb = Place(kb[1], kb[2]) if kb[0] != "?" else _place(ab, names)
    text_overlap = overlap(aa.grams, ab.grams)
    same_request = aa.request.concept is not None and aa.request.concept == ab.request.concept
    same_place = ka[1:] == kb[1:] if same_request else (pa == pb)
    same = ka == kb
    score = 1.0 if same else (0.5 if same_request else 0.0) + 0.3 * text_overlap
    return Similarity(
        score=round(score, 4),
        same_request=same_request,
        same_place=same_place,
        request_a=aa.request.concept,
        request_b=ab.request.concept,
        place_a=pa.label,
        place_b=pb.label,
        text_overlap=round(text_overlap, 4),
    )
