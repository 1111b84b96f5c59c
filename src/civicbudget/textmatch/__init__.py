"""Group short proposals that ask for the same thing in the same place.

Pure library (no Django): rule-based request concepts, place extraction and character
bigram similarity. See docs/textmatch.md.

    >>> from civicbudget.textmatch import cluster
    >>> cluster(["海达小区3栋楼道灯坏了", "海达小区7栋楼道灯坏了", "3栋楼道太黑"])
    [0, 1, 0]
"""

from civicbudget.textmatch.core import (
    Analysis,
    Gazetteer,
    Place,
    Similarity,
    SuggestedGroup,
    analyze,
    cluster,
    cluster_analyses,
    cluster_keys,
    similarity,
    suggest_groups,
)
from civicbudget.textmatch.normalize import normalize

__all__ = [
    "Analysis",
    "Gazetteer",
    "Place",
    "Similarity",
    "SuggestedGroup",
    "analyze",
    "cluster",
    "cluster_analyses",
    "cluster_keys",
    "normalize",
    "similarity",
    "suggest_groups",
]
