"""Grouping: same request + same place, learnt from the batch in front of it.

Each text is analysed once (:func:`analyze`): its **focus** (for a long message, the
subject and the sentences that ask for something), its **terms** (character n-grams of the
wording with places masked, :mod:`civicbudget.textmatch.terms`), its place mentions
(patterns, :mod:`civicbudget.textmatch.places`) and, as one signal among others, the
request concept of the small lexicon (:mod:`civicbudget.textmatch.lexicon`).

Grouping a batch then works in three steps:

1. **Weights from the batch**: every term is weighted by how rare it is in this batch
   (TF-IDF, sublinear counts), so "路灯" matters in a batch about schools and hardly at all
   in a batch about lights; two texts' likeness is the cosine of their vectors, plus a
   bonus when the lexicon recognises the same request in both and a malus when it
   recognises two different ones.
2. **Places** are resolved per community against each other and the caller's gazetteer
   (administrative prefixes stripped, 海达 ~ 海达小区, a bare 3栋 is the one estate's 3栋).
   Two texts that name different specific places are never grouped. A text that names no
   place is grouped within its community; when the community is unknown (group ``None``,
   e.g. a city-wide portal) only with near-identical texts.
3. **Average linkage** over the candidate pairs: the two groups whose members are most
   alike on average merge first, as long as that average clears the threshold for their
   place relation (same place, one more specific than the other, none named). Chaining
   through one passing word cannot build a city-wide group, because the whole group has
   to be alike. Officers' decisions are constraints: must-linked texts start together,
   cannot-linked texts never meet.

Thresholds are chosen on held-out communities (``benchmarks/textmatch_cv.py``). Nothing
crosses groups. The result is deterministic: cluster numbers follow the order of first
appearance.
"""

from __future__ import annotations

import heapq
import math
import numbers
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import sparse

from civicbudget.textmatch.lexicon import BY_NAME, Request, find_request
from civicbudget.textmatch.normalize import normalize
from civicbudget.textmatch.places import (
    COMMUNITY,
    ESTATE,
    ORG,
    PLACE_WORDS,
    ROAD,
    SCHOOL,
    AreaMention,
    PlaceMention,
    extract_places,
    masked,
    same_area,
    strip_admin,
)
from civicbudget.textmatch.terms import focus, terms

# Bumped whenever the analysis changes, so stored analyses are redone.
ANALYSIS_VERSION = 2
_SHORE_RANK = {"公园": 0, "步道": 0, "海滩": 0, "沙滩": 0, "河": 1, "溪": 1, "江": 1, "湖": 1, "路": 2, "大道": 2}  # fmt: skip
# place words that name a place on their own when the community has only one of them
_HEAD_ALONE = {"新苑", "新村", "宿舍", "老街", "公园", "渔港", "码头", "桥头", "步道", "市场", "学校",
               "小学", "中学", "海滩", "沙滩", "码头路", "夜市", "广场"}  # fmt: skip
# Bounds on one call (docs/textmatch.md, "Limits"); far above real proposals, so that a
# hostile or broken input costs bounded time and memory instead of hanging the caller.
MAX_TEXT = 10_000  # characters of a text (or subject) that are analysed; the rest is ignored
MAX_TEXTS = 500_000  # texts in one batch (300,000 take about 1.3 GB)
MAX_LINKS = 1_000_000  # must-link plus cannot-link pairs in one batch
MAX_PLACES = 20_000  # gazetteer names (places plus admin)
MAX_PLACE_LEN = 100  # characters of one gazetteer name
_KINDS = frozenset({ESTATE, ROAD, SCHOOL, ORG, COMMUNITY, "facility", "water"})
_SCOPES = frozenset({"site", "area", "service"})
# A group larger than this keeps, for each text, only its best partners (memory, time).
_DENSE_LIMIT = 4000
_NEIGHBOURS = 40


@dataclass(frozen=True)
class Params:
    """The knobs of grouping; the defaults are chosen by cross-validation by community.

    A pair's score is the cosine of the two texts' term vectors, plus ``concept_bonus``
    when the lexicon finds the same request in both (``family_bonus`` for two requests of
    one family), minus ``concept_penalty`` when it finds two unrelated ones. Two groups
    merge when the average score between their members reaches the threshold for their
    place relation.
    """

    concept_bonus: float = 0.4
    family_bonus: float = 0.13
    concept_penalty: float = 0.3
    t_same: float = 0.15  # both name the same specific place
    t_partial: float = 0.15  # one names a place, the other a part of it or none
    t_none: float = 0.1  # neither names a place (same community)
    t_loose: float = 0.75  # no community known and no shared place: near-identical only
    place_bonus: float = 0.0  # both name the same specific place
    use_lexicon: bool = True


DEFAULT = Params()


@dataclass(frozen=True)
class Analysis:
    """What one text asks for and where, computed once per text."""

    text: str
    normalized: str
    focus: str
    request: Request
    places: PlaceMention
    terms: dict[str, int]

    def to_dict(self) -> dict:
        """A JSON-serialisable form, e.g. to store beside the proposal."""
        p = self.places
        return {
            "v": ANALYSIS_VERSION,
            "text": self.text,
            "normalized": self.normalized,
            "focus": self.focus,
            "request": [self.request.concept, self.request.family, self.request.scope,
                        self.request.score, [list(x) for x in self.request.scores]],
            "areas": [[m.name, m.stem, m.head, m.kind, m.pos] for m in p.areas],
            "buildings": list(p.buildings),
            "gates": list(p.gates),
            "lanes": list(p.lanes),
            "shores": list(p.shores),
            "whole": p.whole,
            "terms": self.terms,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> Analysis:
        """Inverse of :meth:`to_dict`; re-analyses the text if the format is older.

        Stored data may be from an older version, damaged or tampered with: anything that
        is not exactly what :meth:`to_dict` writes is analysed again from its ``text``;
        without a text string, ValueError.
        """
        if not isinstance(d, dict) or not isinstance(d.get("text"), str):
            raise ValueError("not a stored analysis: expected a dict with a 'text' string")
        if d.get("v") != ANALYSIS_VERSION:
            return analyze(d["text"])
        try:
            return cls._from_current(d)
        except (KeyError, TypeError, ValueError, AttributeError):
            return analyze(d["text"])

    @classmethod
    def _from_current(cls, d: dict) -> Analysis:
        def strs(v: object) -> tuple[str, ...]:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ValueError("expected a list of strings")
            return tuple(v)

        concept, family, scope, score, scores = d["request"]
        if concept is not None and concept not in BY_NAME or scope not in _SCOPES:
            raise ValueError("unknown request")
        if family is not None and not isinstance(family, str):
            raise ValueError("family")
        score = float(score)
        scores = tuple((n, float(w)) for n, w in scores)
        if not all(isinstance(n, str) and math.isfinite(w) for n, w in scores):
            raise ValueError("scores")
        areas = []
        for m in d["areas"]:
            name, stem, head, kind, pos = m
            if not all(isinstance(x, str) for x in (name, stem, head)) or kind not in _KINDS:
                raise ValueError("area")
            if not isinstance(pos, int) or isinstance(pos, bool) or pos < 0:
                raise ValueError("area position")
            areas.append(AreaMention(name, stem, head, kind, pos))
        terms = d["terms"]
        if not isinstance(terms, dict):
            raise ValueError("terms")
        for g, c in terms.items():
            # a count below 1 would make the log-weighted vectors NaN
            if not isinstance(g, str) or not isinstance(c, int) or isinstance(c, bool) or c < 1:
                raise ValueError("term count")
        for key in ("normalized", "focus"):
            if not isinstance(d[key], str):
                raise ValueError(key)
        if not isinstance(d["whole"], bool) or not math.isfinite(score):
            raise ValueError("whole")
        return cls(
            text=d["text"],
            normalized=d["normalized"],
            focus=d["focus"],
            request=Request(concept, family, scope, score, scores),
            places=PlaceMention(
                areas=tuple(areas),
                buildings=strs(d["buildings"]),
                gates=strs(d["gates"]),
                lanes=strs(d["lanes"]),
                shores=strs(d["shores"]),
                whole=d["whole"],
            ),
            terms={sys.intern(g): c for g, c in terms.items()},
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
        return f"{self.area or ''}{sub}"

    @property
    def named(self) -> bool:
        return self.area is not None or self.sub is not None


NOWHERE = Place(None, None)


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
    # why: the key phrases the members share and how alike they are on average (0..1)
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
    phrases: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        return self.same_request and self.same_place


def analyze(text: str, subject: str = "") -> Analysis:
    """Analyse one text (pure, cacheable: the platform stores it at submission).

    ``subject`` is the message's subject line, when it has one apart from the text. Only
    the first ``MAX_TEXT`` characters of each are read (normalisation may lengthen them:
    the result is cut again).
    """
    if text is None:
        text = ""
    if subject is None:
        subject = ""
    if not isinstance(text, str) or not isinstance(subject, str):
        bad = text if not isinstance(text, str) else subject
        raise ValueError(f"a text and its subject must be strings, not {type(bad).__name__}")
    norm = normalize(text[:MAX_TEXT])[:MAX_TEXT]
    subj = normalize(subject[:MAX_TEXT])[:MAX_TEXT] if subject else ""
    foc = focus(norm, subj)
    long = foc != norm
    request = find_request(foc)
    if long and request.concept is None:
        # the narrative may still name the request plainly; a passing word does not count
        whole = find_request(norm)
        if whole.concept is not None and whole.score >= 4:
            request = whole
    places = extract_places(foc) if long else extract_places(norm)
    if long and not (places.buildings or any(m.kind != COMMUNITY for m in places.areas)):
        places = extract_places(norm)
    return Analysis(
        text=text,
        normalized=(subj + "\n" + norm) if subj else norm,
        focus=foc,
        request=request,
        places=places,
        terms=terms(norm, foc),
    )


# ---------------------------------------------------------------------------
# Place names within one community


class _Names:
    """The place names of one community, tied together by :func:`same_area`."""

    def __init__(self, analyses: Sequence[Analysis], gazetteer: Gazetteer | None = None):
        self.admin = tuple(sorted({normalize(n) for n in gazetteer.admin if n}, key=len,
                                  reverse=True)) if gazetteer else ()
        counts: Counter[tuple[str, str]] = Counter()
        mentions: dict[tuple[str, str], AreaMention] = {}
        known = _known_places(tuple(gazetteer.places)) if gazetteer else ()
        for areas in [self.areas(a) for a in analyses] + [self._fix(p.areas) for p in known]:
            for m in areas:
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
        # no key is longer than these: longer substrings cannot be found
        stem_len = max((len(m.stem) for m in mentions.values()), default=0)
        name_len = max((len(k[1]) for k in keys), default=0)
        for ki in keys:
            m = mentions[ki]
            cands: list[tuple[str, str]] = []
            for sub in _substrings(m.stem, stem_len):
                cands.extend(by_stem.get((ki[0], sub), ()))
            if m.kind == ESTATE:
                for sub in _substrings(m.name, name_len):
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

    # When set, a name this community has not seen resolves to itself, or to a known name
    # it is tied to, instead of being ignored (a new text compared with a prepared index).
    open = False

    def _tie(self, m: AreaMention) -> str:
        for key, known in self.mentions.items():
            if key[0] == m.kind and same_area(m, known):
                return self.canonical[key]
        return m.name

    def _fix(self, areas: Iterable[AreaMention]) -> tuple[AreaMention, ...]:
        if not self.admin:
            return tuple(areas)
        out = []
        for m in areas:
            stem = strip_admin(m.stem, self.admin) if m.kind != COMMUNITY else m.stem
            out.append(m if stem == m.stem else AreaMention(stem + m.head, stem, m.head, m.kind, m.pos))
        return tuple(out)

    def areas(self, a: Analysis) -> tuple[AreaMention, ...]:
        """The area mentions of ``a``, administrative prefixes the caller knows removed."""
        return self._fix(a.places.areas)

    def resolve(self, a: Analysis) -> list[tuple[str, str]]:
        """Canonical (kind, name) areas named in ``a``, in order of appearance."""
        out: list[tuple[int, str, str]] = []
        for m in self.areas(a):
            if m.kind == COMMUNITY:
                continue
            if m.stem:
                name = self.canonical.get((m.kind, m.name))
                if name is None and self.open:
                    name = self._tie(m)
                if name:
                    out.append((m.pos, self.kind.get(name, m.kind), name))
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
            for m in self._stem_re.finditer(a.focus):
                name = self.estate_stems[m.group(1)]
                if not any(n == name for _, _, n in out):
                    out.append((m.start(), ESTATE, name))
        for shore in a.places.shores:
            pos = a.focus.find(shore + "边")
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


@lru_cache(maxsize=4)
def _known_places(places: tuple[str, ...]) -> tuple[PlaceMention, ...]:
    # read once per gazetteer, not once per community (20,000 names took 1 s a community)
    return tuple(extract_places(normalize(n)) for n in places)


def _substrings(s: str, longest: int) -> set[str]:
    """The substrings of ``s`` of at most ``longest`` characters."""
    n = len(s)
    return {s[i:j] for i in range(n) for j in range(i + 1, min(n, i + longest) + 1)}


def _place(a: Analysis, names: _Names, use_lexicon: bool = True) -> Place:
    scope = a.request.scope if use_lexicon and a.request.concept else "site"
    areas = names.resolve(a)
    if scope == "service":
        # only a school or an organisation named in full makes a service local (府城小学
        # 防欺凌讲座; a wage dispute with one employer)
        named = {names.canonical.get((m.kind, m.name)) for m in names.areas(a)}
        schools = [n for k, n in areas if k in (SCHOOL, ORG) and n in named]
        return Place(schools[0] if schools else None, None)
    area = areas[0][1] if areas else None
    if scope == "area":
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
        named = {names.canonical.get((m.kind, m.name)) for m in names.areas(a)}
        roads = [n for k, n in areas if k == ROAD] or [
            n for k, n in areas if k == ESTATE and n in named
        ]
        return Place(roads[0] if roads else None, p.lanes[0])
    return Place(area, None)




# ---------------------------------------------------------------------------
# Term vectors, pair scores and average linkage


def _vectors(analyses: Sequence[Analysis]) -> tuple[sparse.csr_matrix, list[str]]:
    """Unit-length TF-IDF rows (sublinear counts, IDF over this batch) and the vocabulary."""
    x, vocab, _ = _vectors_idf(analyses)
    return x, vocab


def _vectors_idf(analyses: Sequence[Analysis]) -> tuple[sparse.csr_matrix, list[str], np.ndarray]:
    vocab: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    counts: list[int] = []
    for a in analyses:
        for g, c in a.terms.items():
            indices.append(vocab.setdefault(g, len(vocab)))
            counts.append(c)
        indptr.append(len(indices))
    n = len(analyses)
    idx = np.asarray(indices, dtype=np.int32)
    cnt = np.asarray(counts, dtype=np.float64)
    df = np.bincount(idx, minlength=len(vocab)) if len(idx) else np.zeros(len(vocab))
    idf = np.log((n + 1) / (df + 1)) + 1.0
    data = (1.0 + np.log(cnt)) * idf[idx] if len(idx) else cnt
    x = sparse.csr_matrix((data, idx, np.asarray(indptr, dtype=np.int64)), shape=(n, len(vocab)))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x = sparse.diags(1.0 / norms) @ x
    return x.tocsr(), list(vocab), idf


def places_conflict(area_a, sub_a, area_b, sub_b, related=None) -> bool:
    """Whether two places (area, part of it; -1 or None for none) can never be one project.

    Two named estates, roads or facilities must be the same (or one named after the other,
    as 渔村主路 is part of 渔村: ``related(a, b)``), and then so must the building, gate or
    lane (an estate-wide request is not 3栋's). A bare 3栋 fits an estate's 3栋 but not the
    estate as a whole; a text naming nothing fits anywhere.
    """
    none = (-1, None)
    if area_a not in none and area_b not in none:
        if area_a != area_b and not (related is not None and related(area_a, area_b)):
            return True
        return sub_a != sub_b
    if area_a not in none and sub_b not in none:
        return sub_a != sub_b
    if area_b not in none and sub_a not in none:
        return sub_a != sub_b
    return sub_a not in none and sub_b not in none and sub_a != sub_b


@dataclass
class _Group:
    """One community's texts as the linkage sees them."""

    idx: list[int]  # batch indices
    area: list[int]  # per member: area id or -1
    sub: list[int]  # per member: building / gate / lane id or -1
    named: list[int]  # per member: the first place it names, whatever the request, or -1
    k: int  # number of distinct areas
    related: frozenset[int]  # a * k + b for areas a, b where one is named after the other
    length: list[int]  # per area id: length of its name (longer = more specific)
    places: list[Place]
    known: bool  # whether the community is known (group is not None)


def _pair_scores(
    x: sparse.csr_matrix, concept: np.ndarray, family: np.ndarray, g: _Group, p: Params,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of one group whose score may matter, with the score.

    Pairs at two different places are left out (they never meet). In a group larger than
    ``_DENSE_LIMIT`` each text keeps only its ``_NEIGHBOURS`` best partners, so that memory
    and time grow with the group, not with its square. When the community is unknown the
    lexicon speaks only for texts at one named place: elsewhere "near-identical" must mean
    the wording, not a shared topic.
    """
    n = x.shape[0]
    floor = 0.08  # below this a pair only dilutes averages, which missing pairs do too
    big = n > _DENSE_LIMIT
    place_ids: dict[Place, int] = {}
    place = np.asarray([place_ids.setdefault(pl, len(place_ids)) if pl.named else -1
                        for pl in g.places], dtype=np.int64)
    area, sub, named = (np.asarray(v, dtype=np.int64) for v in (g.area, g.sub, g.named))
    rel = np.fromiter(g.related, dtype=np.int64, count=len(g.related))
    rows, cols, vals = [], [], []
    step = max(1, min(n, 2_000_000 // max(n, 1)))
    xt = x.T.tocsc()
    for start in range(0, n, step):
        s = (x[start : start + step] @ xt).tocoo()
        r = s.row.astype(np.int64) + start
        c = s.col.astype(np.int64)
        keep = (r != c) if big else (r < c)
        r, c, v = r[keep], c[keep], s.data[keep]
        same_place = (place[r] >= 0) & (place[r] == place[c])
        lexicon = _lexicon_term(concept, family, r, c, p)
        v = v + (lexicon if g.known else lexicon * same_place)
        if p.place_bonus:
            v = v + p.place_bonus * same_place
        keep = (v >= floor) & ~_conflicts(area, sub, named, r, c, g.k, rel)
        r, c, v = r[keep], c[keep], v[keep]
        if big and len(r):
            order = np.lexsort((-v, r))
            r, c, v = r[order], c[order], v[order]
            rank = np.arange(len(r)) - np.searchsorted(r, r, side="left")
            best = rank < _NEIGHBOURS
            r, c, v = np.minimum(r[best], c[best]), np.maximum(r[best], c[best]), v[best]
        rows.append(r)
        cols.append(c)
        vals.append(v)
    if big and rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        _, first = np.unique(r * n + c, return_index=True)
        return r[first], c[first], v[first]
    if p.use_lexicon and p.concept_bonus >= floor:
        # the same request in words that share nothing (楼道太黑 / 希望装声控灯)
        have = np.concatenate(rows) * n + np.concatenate(cols) if rows else np.zeros(0, np.int64)
        extra_r, extra_c = [], []
        for k in np.unique(concept[concept >= 0]):
            members = np.flatnonzero(concept == k)
            if len(members) < 2:
                continue
            a, b = np.triu_indices(len(members), 1)
            extra_r.append(members[a])
            extra_c.append(members[b])
        if extra_r:
            er, ec = np.concatenate(extra_r), np.concatenate(extra_c)
            same_place = (place[er] >= 0) & (place[er] == place[ec])
            new = ~np.isin(er * n + ec, have) & ~_conflicts(area, sub, named, er, ec, g.k, rel)
            if not g.known:
                new &= same_place
            rows.append(er[new])
            cols.append(ec[new])
            vals.append((p.concept_bonus + p.place_bonus * same_place)[new])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _parts(names: set[str]) -> dict[str, str]:
    """Each place name mapped to the largest place it is part of by its name.

    渔村主路 and 渔村巷 are parts of 渔村 (their names contain it), so texts naming them are
    not at "two different places"; 府前路 and 府前花园 are.
    """
    ordered = sorted(names, key=lambda n: (len(n), n))
    parent = {n: n for n in ordered}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for name in ordered:
        for i in range(len(name)):
            for j in range(i + 2, len(name)):
                inner = name[i:j]
                if inner in parent and inner != name:
                    a, b = find(inner), find(name)
                    if a != b:
                        parent[b] = a
    return {n: find(n) for n in ordered}


def _contains(a: str, b: str) -> bool:
    return a in b or b in a


def _named_after(ids: dict[str, int]) -> set[int]:
    """Pairs ``a * k + b`` (both ways) of areas where one's name contains the other's."""
    k = len(ids)
    out = set()
    for name, j in ids.items():
        for a in range(len(name)):
            for b in range(a + 2, len(name) + 1):
                i = ids.get(name[a:b])
                if i is not None and i != j:
                    out.add(i * k + j)
                    out.add(j * k + i)
    return out


def _conflicts(area, sub, named, r, c, k: int = 0, g_related: np.ndarray | None = None) -> np.ndarray:
    """:func:`places_conflict` (and two different named places) for arrays of pairs."""
    ar, ac, sr, sc, nr, nc = area[r], area[c], sub[r], sub[c], named[r], named[c]
    both = (ar >= 0) & (ac >= 0)
    other = ar != ac
    if g_related is not None and g_related.size:
        other &= ~np.isin(ar * k + ac, g_related)
    out = both & (other | (sr != sc))
    out |= (ar >= 0) & (ac < 0) & (sc >= 0) & (sr != sc)
    out |= (ac >= 0) & (ar < 0) & (sr >= 0) & (sr != sc)
    out |= (ar < 0) & (ac < 0) & (sr >= 0) & (sc >= 0) & (sr != sc)
    out |= (nr >= 0) & (nc >= 0) & (nr != nc)
    return out


def _lexicon_term(concept, family, r, c, p: Params) -> np.ndarray:
    if not p.use_lexicon:
        return np.zeros(len(r))
    cr, cc, fr, fc = concept[r], concept[c], family[r], family[c]
    both = (cr >= 0) & (cc >= 0)
    same = both & (cr == cc)
    fam = both & ~same & (fr == fc)
    other = both & ~same & ~fam
    return p.concept_bonus * same + p.family_bonus * fam - p.concept_penalty * other


class _Linkage:
    """Average linkage over sparse pair scores, with place, must- and cannot-link rules."""

    def __init__(self, g: _Group, rows, cols, vals, p: Params,
                 must: Iterable[tuple[int, int]], cannot: Iterable[tuple[int, int]],
                 weights: Sequence[int] | None = None):
        n = len(g.idx)
        self.p, self.known = p, g.known
        self.parent = list(range(n))
        # a node may stand for several identical texts: it weighs as many
        self.size = list(weights) if weights is not None else [1] * n
        self.area, self.sub, self.named = list(g.area), list(g.sub), list(g.named)
        self.k, self.related, self.length = g.k, g.related, g.length
        size = self.size
        # identical texts score 1 with each other
        self.intra = [m * (m - 1) / 2 for m in size]
        self.links: list[dict[int, float] | None] = [{} for _ in range(n)]
        for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True):
            if self._conflict(r, c):
                continue
            v *= size[r] * size[c]
            lr, lc = self.links[r], self.links[c]
            lr[c] = lr.get(c, 0.0) + v  # type: ignore[union-attr]
            lc[r] = lc.get(r, 0.0) + v  # type: ignore[union-attr]
        self.forbid: list[set[int]] = [set() for _ in range(n)]
        for a, b in cannot:
            if a != b:
                self.forbid[a].add(b)
                self.forbid[b].add(a)
        for a, b in must:
            ra, rb = self.find(a), self.find(b)
            if ra != rb and not self._forbidden(ra, rb):
                self._merge(ra, rb)

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def _related(self, a: int, b: int) -> bool:
        return a * self.k + b in self.related

    def _conflict(self, a: int, b: int) -> bool:
        # a service takes the whole community, yet two texts naming two places stay apart
        na, nb = self.named[a], self.named[b]
        if na >= 0 and nb >= 0 and na != nb:
            return True
        return places_conflict(self.area[a], self.sub[a], self.area[b], self.sub[b], self._related)

    def _threshold(self, a: int, b: int) -> float:
        p = self.p
        named_a = self.area[a] >= 0 or self.sub[a] >= 0
        named_b = self.area[b] >= 0 or self.sub[b] >= 0
        if named_a and named_b and self.area[a] == self.area[b] and self.sub[a] == self.sub[b]:
            return p.t_same
        if not self.known:
            return p.t_loose
        if not named_a and not named_b:
            return p.t_none
        return p.t_partial

    def _forbidden(self, a: int, b: int) -> bool:
        small, other = (a, b) if len(self.forbid[a]) <= len(self.forbid[b]) else (b, a)
        return any(self.find(x) == other for x in self.forbid[small])

    def margin(self, a: int, b: int) -> float:
        if self._conflict(a, b):
            return -math.inf
        w = self.links[a].get(b, 0.0)  # type: ignore[union-attr]
        return w / (self.size[a] * self.size[b]) - self._threshold(a, b)

    def _merge(self, a: int, b: int) -> int:
        # the root with more links absorbs the other (cheaper), ties by index
        la, lb = self.links[a], self.links[b]
        if len(la) < len(lb):  # type: ignore[arg-type]
            a, b, la, lb = b, a, lb, la
        assert la is not None and lb is not None
        between = la.pop(b, 0.0)
        lb.pop(a, None)
        for c, w in lb.items():
            la[c] = la.get(c, 0.0) + w
            lc = self.links[c]
            assert lc is not None
            lc.pop(b, None)
            lc[a] = la[c]
        self.links[b] = None
        self.intra[a] += self.intra[b] + between
        self.size[a] += self.size[b]
        if self.area[a] < 0 or (self.area[b] >= 0 and self.length[self.area[b]] > self.length[self.area[a]]):
            self.area[a] = self.area[b]  # the more specific of two related places
        if self.sub[a] < 0:
            self.sub[a] = self.sub[b]
        if self.named[a] < 0:
            self.named[a] = self.named[b]
        self.forbid[a] |= self.forbid[b]
        self.forbid[b] = set()
        self.parent[b] = a
        return a

    def run(self) -> None:
        heap: list[tuple[float, int, int]] = []
        for a, la in enumerate(self.links):
            if la is None or self.parent[a] != a:
                continue
            for b in la:
                if a < b:
                    m = self.margin(a, b)
                    if m >= 0:
                        heap.append((-m, a, b))
        heapq.heapify(heap)
        while heap:
            neg, a, b = heapq.heappop(heap)
            if self.parent[a] != a or self.parent[b] != b:
                continue
            m = self.margin(a, b)
            if m < 0:
                continue
            if m < -neg - 1e-12:
                # it got worse since: the merge that changed it pushed the pair again with
                # its current margin, so this entry is stale (pushing it back again made
                # copies that lived on, and a large sparse group took hours)
                continue
            if self._forbidden(a, b):
                continue
            root = self._merge(a, b)
            for c in self.links[root]:  # type: ignore[union-attr]
                mc = self.margin(root, c)
                if mc >= 0:
                    heapq.heappush(heap, (-mc, min(root, c), max(root, c)))


@dataclass
class _Result:
    numbers: list[int]
    places: list[Place]  # per text: its cluster's place
    own_places: list[Place]  # per text: the place it names itself
    cohesion: dict[int, float]  # per cluster number: average pair score
    x: sparse.csr_matrix
    vocab: list[str]


def _run(
    analyses: Sequence[Analysis],
    groups: Sequence[Hashable] | None,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    gazetteer: Gazetteer | None = None,
    params: Params = DEFAULT,
) -> _Result:
    analyses = _analyses(analyses)
    n = len(analyses)
    gs = _groups_of(n, groups)
    gazetteer = _gazetteer(gazetteer)
    must_link = _links(must_link, n, "must_link", MAX_LINKS)
    cannot_link = _links(cannot_link, n, "cannot_link", MAX_LINKS - len(must_link))
    x, vocab = _vectors(analyses)
    concept_ids: dict[str, int] = {}
    family_ids: dict[str, int] = {}
    concept = np.full(n, -1, dtype=np.int64)
    family = np.full(n, -1, dtype=np.int64)
    for i, a in enumerate(analyses):
        if a.request.concept is not None:
            concept[i] = concept_ids.setdefault(a.request.concept, len(concept_ids))
            family[i] = family_ids.setdefault(a.request.family or a.request.concept, len(family_ids))
    by_group: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(gs):
        by_group[g].append(i)
    local: dict[int, tuple[Hashable, int]] = {}
    for g, idx in by_group.items():
        for k, i in enumerate(idx):
            local[i] = (g, k)
    must_by: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    cannot_by: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for pairs, out in ((must_link, must_by), (cannot_link, cannot_by)):
        for a, b in pairs:
            (ga, ka), (gb, kb) = local[a], local[b]
            if ga == gb:
                out[ga].append((ka, kb))
    root_of = [0] * n
    root_cohesion: dict[int, float] = {}
    own: list[Place] = [NOWHERE] * n
    merged: list[Place] = [NOWHERE] * n
    for g, all_idx in by_group.items():
        # Identical texts are one node of the linkage, weighing as many (a mass-posted
        # complaint must not cost quadratic time nor fall apart); texts an officer kept
        # apart stay nodes of their own.
        kept_apart = {k for pair in cannot_by[g] for k in pair}
        first: dict[str, int] = {}
        node_of: list[int] = []
        reps: list[int] = []
        for k, i in enumerate(all_idx):
            key = analyses[i].normalized
            if not analyses[i].terms:
                kept_apart.add(k)  # an empty text is not a request: it stays alone
            if k not in kept_apart and key in first:
                node_of.append(first[key])
                continue
            if k not in kept_apart:
                first[key] = len(reps)
            node_of.append(len(reps))
            reps.append(k)
        weights = Counter(node_of)
        idx = [all_idx[k] for k in reps]
        members = [analyses[i] for i in idx]
        names = _Names(members, gazetteer)
        places = [_place(a, names, params.use_lexicon) for a in members]
        firsts = [next((n for _, n in names.resolve(a)), None) for a in members]
        part_of = _parts({n for n in firsts if n})
        named_ids: dict[str, int] = {}
        named = [named_ids.setdefault(part_of[n], len(named_ids)) if n else -1 for n in firsts]
        area_ids: dict[str, int] = {}
        for pl in places:
            if pl.area:
                area_ids.setdefault(pl.area, len(area_ids))
        sub_ids: dict[str, int] = {}
        group = _Group(
            idx=idx,
            area=[area_ids.setdefault(pl.area, len(area_ids)) if pl.area else -1 for pl in places],
            sub=[sub_ids.setdefault(pl.sub, len(sub_ids)) if pl.sub else -1 for pl in places],
            named=named,
            k=len(area_ids),
            related=frozenset(_named_after(area_ids)),
            length=[len(a) for a in area_ids],
            places=places,
            known=g is not None,
        )
        sel = np.asarray(idx)
        rows, cols, vals = _pair_scores(x[sel], concept[sel], family[sel], group, params)
        must = [(node_of[a], node_of[b]) for a, b in must_by[g]]
        cannot = [(node_of[a], node_of[b]) for a, b in cannot_by[g]]
        link = _Linkage(group, rows, cols, vals, params, must, cannot,
                        weights=[weights[j] for j in range(len(reps))])
        link.run()
        areas = {v: k for k, v in area_ids.items()}
        subs = {v: k for k, v in sub_ids.items()}
        for k, i in enumerate(all_idx):
            node = node_of[k]
            r = link.find(node)
            root_of[i] = idx[r]
            own[i] = places[node]
            merged[i] = Place(areas.get(link.area[r]), subs.get(link.sub[r]))
        for k in range(len(idx)):
            if link.parent[k] == k and link.size[k] > 1:
                root_cohesion[idx[k]] = link.intra[k] / (link.size[k] * (link.size[k] - 1) / 2)
    numbers: dict[int, int] = {}
    out = [numbers.setdefault(r, len(numbers)) for r in root_of]
    cohesion = {numbers[r]: c for r, c in root_cohesion.items()}
    return _Result(out, merged, own, cohesion, x, vocab)


# ---------------------------------------------------------------------------
# Public functions


def _groups_of(n: int, groups: Sequence[Hashable] | None) -> list[Hashable]:
    if groups is None:
        return [""] * n
    if isinstance(groups, str | bytes) or not hasattr(groups, "__len__"):
        raise ValueError("groups must be a list with one group per text")
    if len(groups) != n:
        raise ValueError(f"{n} texts but {len(groups)} groups")
    out = list(groups)
    for i, g in enumerate(out):
        try:
            hash(g)
        except TypeError:
            raise ValueError(f"group {i} is a {type(g).__name__}, which cannot be a group "
                             "(use a string or a number)") from None
    return out


def _sequence(items: object, what: str) -> list:
    """``items`` as a list, after checking it is a list of at most ``MAX_TEXTS``."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ValueError(f"{what} must be a list, not {type(items).__name__}")
    out = list(items)
    if len(out) > MAX_TEXTS:
        raise ValueError(f"{len(out)} {what}: at most {MAX_TEXTS} in one batch")
    return out


def _analyses(items: object) -> list[Analysis]:
    out = _sequence(items, "analyses")
    for i, a in enumerate(out):
        if not isinstance(a, Analysis):
            raise ValueError(f"analysis {i} is a {type(a).__name__}, not an Analysis")
    return out


def _links(pairs: Iterable[tuple[int, int]], n: int, what: str, budget: int) -> list[tuple[int, int]]:
    """Validated index pairs (each index an int within the ``n`` texts), duplicates dropped."""
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValueError(f"{what} must be a list of (i, j) pairs")
    out: dict[tuple[int, int], None] = {}
    for k, pair in enumerate(pairs):
        if k >= budget:
            raise ValueError(f"more than {MAX_LINKS} must- and cannot-link pairs")
        try:
            a, b = pair
        except (TypeError, ValueError):
            raise ValueError(f"{what} {k}: {pair!r} is not a pair of indices") from None
        if not all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in (a, b)):
            raise ValueError(f"{what} {k}: ({a!r}, {b!r}) is not a pair of integer indices")
        a, b = int(a), int(b)
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"link ({a}, {b}) is outside the {n} texts")
        out[(a, b)] = None
    return list(out)


def _gazetteer(gazetteer: object) -> Gazetteer | None:
    if gazetteer is None:
        return None
    if not isinstance(gazetteer, Gazetteer):
        raise ValueError(f"gazetteer must be a Gazetteer, not {type(gazetteer).__name__}")
    names = []
    for field in ("places", "admin"):
        value = getattr(gazetteer, field)
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ValueError(f"gazetteer {field} must be a list of names")
        value = list(value)
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"gazetteer {field}: {name!r} is not a string")
            if len(name) > MAX_PLACE_LEN:
                raise ValueError(f"gazetteer {field}: a name of {len(name)} characters "
                                 f"(at most {MAX_PLACE_LEN})")
        names += value
        if len(names) > MAX_PLACES:
            raise ValueError(f"gazetteer: more than {MAX_PLACES} names")
    if isinstance(gazetteer.places, tuple) and isinstance(gazetteer.admin, tuple):
        return gazetteer
    return replace(gazetteer, places=tuple(gazetteer.places), admin=tuple(gazetteer.admin))


def cluster_keys(
    analyses: Sequence[Analysis], groups: Sequence[Hashable] | None = None
) -> list[tuple]:
    """Cluster keys ``(group, cluster number)`` for pre-computed analyses."""
    analyses = _analyses(analyses)
    gs = _groups_of(len(analyses), groups)
    return list(zip(gs, cluster_analyses(analyses, groups), strict=True))


def cluster_analyses(
    analyses: Sequence[Analysis],
    groups: Sequence[Hashable] | None = None,
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    gazetteer: Gazetteer | None = None,
    params: Params = DEFAULT,
) -> list[int]:
    """Cluster numbers (0, 1, ... in order of first appearance) for analyses.

    ``groups``: the community of each text (texts of different groups never meet; ``None``
    for a text whose community is unknown, e.g. a message to a city-wide portal).
    ``must_link`` and ``cannot_link``: pairs of indices that officers have decided (merged,
    or split apart). ``gazetteer``: the places the platform knows.
    """
    return _run(analyses, groups, must_link, cannot_link, gazetteer, params).numbers


def cluster(
    texts: Sequence[str],
    groups: Sequence[Hashable] | None = None,
    *,
    gazetteer: Gazetteer | None = None,
    params: Params = DEFAULT,
) -> list[int]:
    """Group texts that ask for the same thing in the same place.

    ``groups`` (e.g. the community of each text) is optional: without it the texts are one
    community; a group of ``None`` means the community is unknown, and such texts that name
    no place are grouped only when nearly identical. Texts in different groups never share a
    cluster. Returns one cluster number per text, numbered 0, 1, ... in order of first
    appearance; deterministic.
    """
    texts = _sequence(texts, "texts")
    return cluster_analyses([analyze(t) for t in texts], groups, gazetteer=gazetteer,
                            params=params)


def _phrases(x: sparse.csr_matrix, vocab: list[str], members: Sequence[int],
             analyses: Sequence[Analysis], k: int = 3) -> tuple[str, ...]:
    """The phrases most members share, as they wrote them (楼道灯, 长者食堂, 充电桩).

    Character pairs present in at least half of the members (two at least) are chained
    along each member's own request text; the longest chains found in most members win.
    """
    sub = x[np.asarray(members)]
    need = max(2, math.ceil(0.5 * len(members)))
    present = np.asarray((sub > 0).sum(axis=0)).ravel()
    shared = {vocab[j] for j in np.flatnonzero(present >= need) if len(vocab[j]) == 2}
    if not shared:
        return ()
    found: Counter[str] = Counter()
    for i in members:
        text = masked(analyses[i].focus)
        seen: set[str] = set()
        start = None
        for pos in range(len(text)):
            inside = text[pos : pos + 2] in shared
            if inside and start is None:
                start = pos
            if not inside and start is not None:
                seen.add(text[start : pos + 1])
                start = None
        if start is not None:
            seen.add(text[start:])
        found.update(seen)
    order = sorted(found, key=lambda t: (-found[t], -len(t), t))
    chosen: list[str] = []
    for phrase in order:
        if found[phrase] < need or phrase in PLACE_WORDS or any(phrase in c for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) >= k:
            break
    return tuple(chosen)


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
    params: Params = DEFAULT,
) -> list[SuggestedGroup]:
    """Suggested projects for a merge workbench, largest first.

    Each :class:`SuggestedGroup` lists its members (``ids`` if given, else indices), the
    request the lexicon recognises in most of them (or None), the place label, the member
    texts, the key phrases they share and their average likeness. Groups smaller than
    ``min_size`` are left out. Pass stored ``analyses`` (one per text) to skip the
    per-text work; links are pairs of indices.
    """
    texts = _sequence(texts, "texts")
    if ids is not None:
        ids = _sequence(ids, "ids")
        if len(ids) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(ids)} ids")
    if not isinstance(min_size, int) or isinstance(min_size, bool):
        raise ValueError(f"min_size must be an integer, not {type(min_size).__name__}")
    if analyses is None:
        analyses = [analyze(t) for t in texts]
    else:
        analyses = _analyses(analyses)
        if len(analyses) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(analyses)} analyses")
    res = _run(analyses, groups, must_link, cannot_link, gazetteer, params)
    members: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(res.numbers):
        members[c].append(i)
    gs = _groups_of(len(texts), groups)
    out = []
    for c, idx in members.items():
        if len(idx) < min_size:
            continue
        concepts = Counter(analyses[i].request.concept for i in idx if analyses[i].request.concept)
        request = None
        if concepts:
            top, count = concepts.most_common(1)[0]
            request = top if count * 2 > len(idx) else None
        place = res.places[idx[0]]
        out.append(
            SuggestedGroup(
                cluster=c,
                members=tuple(ids[i] if ids is not None else i for i in idx),
                group=gs[idx[0]],
                request=request,
                place=place.label,
                texts=tuple(texts[i] for i in idx),
                phrases=_phrases(res.x, res.vocab, idx, analyses),
                score=round(min(1.0, res.cohesion.get(c, 1.0)), 3),
            )
        )
    out.sort(key=lambda g: (-len(g.members), g.cluster))
    return out


def similarity(a: str, b: str, context: Sequence[str] = (), params: Params = DEFAULT) -> Similarity:
    """Compare two texts of the same community and explain the verdict.

    ``context`` (other texts of the same community) helps to tie place names, e.g. that a
    bare 3栋 is 海达小区3栋. ``score`` is the pair's own score (cosine of the term vectors
    in this small batch, plus or minus the lexicon's opinion); ``same`` is whether grouping
    the texts with their context puts them together.
    """
    analyses = [analyze(a), analyze(b), *(analyze(t) for t in _sequence(context, "context texts"))]
    aa, ab = analyses[0], analyses[1]
    res = _run(analyses, None, params=params)
    cos = float(res.x[0].multiply(res.x[1]).sum())
    ca, cb = aa.request.concept, ab.request.concept
    lex = 0.0
    if params.use_lexicon and ca and cb:
        if ca == cb:
            lex = params.concept_bonus
        elif aa.request.family == ab.request.family:
            lex = params.family_bonus
        else:
            lex = -params.concept_penalty
    score = cos + lex
    together = res.numbers[0] == res.numbers[1]
    pa, pb = res.places[0], res.places[1]
    conflict = places_conflict(pa.area, pa.sub, pb.area, pb.sub, _contains)
    same_request = together or (ca is not None and ca == cb) or score >= params.t_same
    return Similarity(
        score=round(score, 4),
        same_request=bool(same_request),
        same_place=together or not conflict and (pa == pb),
        request_a=ca,
        request_b=cb,
        place_a=pa.label,
        place_b=pb.label,
        text_overlap=round(cos, 4),
        phrases=_phrases(res.x, res.vocab, [0, 1], analyses),
    )


@dataclass(frozen=True)
class Match:
    """An existing group a new text could join, and why."""

    label: Hashable  # the group's label as passed in (a project id, a cluster number)
    members: tuple[int, ...]  # indices into ``others``
    score: float  # average score between the new text and the group's members
    place: str  # the group's place label ("社区" when none is named)
    same_place: bool  # the new text names that very place
    phrases: tuple[str, ...]  # what the new text shares with the group


class CommunityIndex:
    """One community's texts prepared once, to compare new texts with them quickly.

    Building it costs about what grouping the community costs; each :meth:`suggest` then
    costs one sparse product (a few milliseconds for 3,000 texts). Labels (projects) and
    exclusions are given per call, so the index survives merges and splits; rebuild it when
    texts are added or changed.
    """

    def __init__(self, analyses: Sequence[Analysis], *, community_known: bool = True,
                 gazetteer: Gazetteer | None = None, params: Params = DEFAULT):
        self.analyses = _analyses(analyses)
        gazetteer = _gazetteer(gazetteer)
        self.known, self.params = community_known, params
        self.x, vocab, self.idf = _vectors_idf(self.analyses)
        self.vocab = vocab
        self.column = {t: j for j, t in enumerate(vocab)}
        self.names = _Names(self.analyses, gazetteer)
        self.names.open = True
        self.places = [_place(a, self.names, params.use_lexicon) for a in self.analyses]
        self.named = [next((nm for _, nm in self.names.resolve(a)), None) for a in self.analyses]
        self.concept = np.asarray([a.request.concept or "" for a in self.analyses], dtype=object)
        self.family = np.asarray([a.request.family or "" for a in self.analyses], dtype=object)
        self.unseen_idf = math.log(len(self.analyses) + 1) + 1.0

    def _vector(self, a: Analysis) -> sparse.csr_matrix:
        cols, vals = [], []
        for term, count in a.terms.items():
            j = self.column.get(term)
            if j is not None:
                cols.append(j)
                vals.append((1.0 + math.log(count)) * self.idf[j])
        # terms the community has never used still make the vector longer (rarer than any)
        extra = sum(((1.0 + math.log(c)) * self.unseen_idf) ** 2
                    for t, c in a.terms.items() if t not in self.column)
        norm = math.sqrt(sum(v * v for v in vals) + extra) or 1.0
        return sparse.csr_matrix((np.asarray(vals) / norm, (np.zeros(len(cols), int), cols)),
                                 shape=(1, len(self.vocab)))

    def suggest(self, analysis: Analysis, labels: Sequence[Hashable] | None = None, *,
                exclude: Iterable[int] = (), limit: int = 5) -> list[Match]:
        """Which groups of the index ``analysis`` belongs with, best first (see suggest_for).

        ``labels``: one per indexed text (its project, or None for a text on its own);
        ``exclude``: indices never to compare with (the text itself when it is indexed, texts
        an officer called "not the same", ...).
        """
        n, p = len(self.analyses), self.params
        if labels is not None and len(labels) != n:
            raise ValueError(f"{n} texts but {len(labels)} labels")
        _check_suggest(analysis, labels, n, limit)
        if n == 0:
            return []
        v = self._vector(analysis)
        cos = np.asarray((self.x @ v.T).todense()).ravel()
        score = cos.copy()
        new_place = _place(analysis, self.names, p.use_lexicon)
        at_place = np.asarray([new_place.named and q == new_place for q in self.places], dtype=bool)
        if p.use_lexicon and analysis.request.concept:
            known = self.concept != ""
            same = known & (self.concept == analysis.request.concept)
            fam = known & ~same & (self.family == (analysis.request.family or ""))
            lexicon = p.concept_bonus * same + p.family_bonus * fam
            lexicon = lexicon - p.concept_penalty * (known & ~same & ~fam)
            score += lexicon if self.known else lexicon * at_place
        if p.place_bonus:
            score += p.place_bonus * at_place
        new_named = next((nm for _, nm in self.names.resolve(analysis)), None)
        skip = set(exclude)
        groups: dict[Hashable, list[int]] = defaultdict(list)
        for i in range(n):
            if i in skip:
                continue
            label = labels[i] if labels is not None and labels[i] is not None else ("", i)
            groups[label].append(i)
        out = []
        for label, members in groups.items():
            places = self.places
            area = next((places[i].area for i in members if places[i].area), None)
            sub = next((places[i].sub for i in members if places[i].sub), None)
            other = next((self.named[i] for i in members if self.named[i]), None)
            if places_conflict(area, sub, new_place.area, new_place.sub, _contains) or (
                other and new_named and not _contains(other, new_named)
            ):
                continue
            avg = float(score[members].sum()) / len(members)
            group_place = Place(area, sub)
            if group_place.named and group_place == new_place:
                t = p.t_same
            elif not self.known:
                t = p.t_loose
            elif not group_place.named and not new_place.named:
                t = p.t_none
            else:
                t = p.t_partial
            if avg >= t:
                out.append((avg, label, members, group_place))
        out.sort(key=lambda m: (-m[0], str(m[1])))
        matches = []
        for avg, label, members, place in out[:limit]:
            rows = sparse.vstack([self.x[members], v]).tocsr()
            batch = [*(self.analyses[i] for i in members), analysis]
            matches.append(Match(
                label=None if isinstance(label, tuple) and label[:1] == ("",) else label,
                members=tuple(members),
                score=round(min(1.0, avg), 3),
                place=place.label,
                same_place=place.named and place == new_place,
                phrases=_phrases(rows, self.vocab, list(range(len(batch))), batch),
            ))
        return matches


def suggest_for(
    analysis: Analysis,
    others: Sequence[Analysis],
    labels: Sequence[Hashable] | None = None,
    *,
    community_known: bool = True,
    gazetteer: Gazetteer | None = None,
    params: Params = DEFAULT,
    limit: int = 5,
) -> list[Match]:
    """Which existing groups of one community a new text belongs with, best first.

    ``others`` are the community's texts already in (``labels``: one label per text, e.g.
    its project, or None for a text on its own). A group is suggested when the average
    score between the new text and its members reaches the threshold for their place
    relation, the same rule as :func:`cluster_analyses`; groups at a different named
    place are never suggested. To compare many new texts with one community, build a
    :class:`CommunityIndex` once and call its ``suggest``.
    """
    others = _analyses(others)
    _check_suggest(analysis, labels, len(others), limit)
    index = CommunityIndex(others, community_known=community_known, gazetteer=gazetteer,
                           params=params)
    return index.suggest(analysis, labels, limit=limit)


def _check_suggest(analysis: object, labels: object, n: int, limit: object) -> None:
    if not isinstance(analysis, Analysis):
        raise ValueError(f"analysis must be an Analysis, not {type(analysis).__name__}")
    if labels is not None:
        _groups_of(n, labels)  # type: ignore[arg-type]  # one hashable label per text
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"limit must be an integer of 0 or more, not {limit!r}")
