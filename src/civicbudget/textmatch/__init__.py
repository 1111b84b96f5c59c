"""Group proposals and messages that ask for the same thing in the same place.

Pure library (no Django): term vectors weighted by the batch (TF-IDF over character
n-grams, long messages reduced to their request), places resolved per community, average
linkage with officers' decisions as constraints; the small request lexicon is one signal
among others. See docs/textmatch.md and docs/decisions/0016-textmatch-from-the-data.md.

    >>> from civicbudget.textmatch import cluster
    >>> cluster(["海达小区3栋楼道灯坏了", "海达小区7栋楼道灯坏了", "3栋楼道太黑"])
    [0, 1, 0]
"""

from civicbudget.textmatch.core import DEFAULT as DEFAULT_PARAMS
from civicbudget.textmatch.core import (
    Analysis,
    CommunityIndex,
    Gazetteer,
    Match,
    Params,
    Place,
    Similarity,
    SuggestedGroup,
    analyze,
    cluster,
    cluster_analyses,
    cluster_keys,
    similarity,
    suggest_for,
    suggest_groups,
)
from civicbudget.textmatch.normalize import normalize

__all__ = [
    "DEFAULT_PARAMS",
    "Analysis",
    "CommunityIndex",
    "Gazetteer",
    "Match",
    "Params",
    "Place",
    "Similarity",
    "SuggestedGroup",
    "analyze",
    "cluster",
    "cluster_analyses",
    "cluster_keys",
    "normalize",
    "similarity",
    "suggest_for",
    "suggest_groups",
]
