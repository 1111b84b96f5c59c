"""What a text asks for, as weighted character n-grams: the request sentence and the terms.

Nothing here is a list of topics: the terms of a text are the characters and character
bigrams of its wording with place names and numbers masked out (so that two texts at the
same place do not look alike because of the place, and the same request at two places
does), and their weight comes later from how rare each term is in the batch being grouped
(:mod:`civicbudget.textmatch.core`).

Long messages (a subject line and a narrative of several hundred characters) are reduced
to their **focus**: the subject, and the first sentences that ask for something (建议,
希望, 请, 要求, 能否, ...). The focus's terms count twice; the whole body still counts once.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

from civicbudget.textmatch.places import masked

# A text longer than this (characters, normalised) is "long": its request is looked for.
LONG = 80
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
# Words with which residents ask for something, in standard and colloquial Chinese.
_ASK = re.compile(
    r"建议|希望|请求|恳请|恳求|呼吁|要求|诉求|申请|请|盼|求|能否|能不能|可否|可不可以|是否可以|"
    r"尽快|赶紧|抓紧|解决|处理|整改|督促|协调|落实|改造|安装|加装|增设|设置|修|换|拆|"
    r"麻烦|急需|需要|应该|搞快点|莫得|冇|咋个|怎么办|何时|什么时候"
)
_RUN = re.compile(r"[^\W_]+")
_LATIN = re.compile(r"[a-z]+")
FOCUS_WEIGHT = 2
# Single characters that carry grammar, not content (particles, pronouns, the words every
# request uses); as bigrams they still count.
_FUNCTION = set("的了在是我你他她它们和与及有也都就吧啊呢吗嘛呀哦把被给让很太这那个些之其"
                "而且或但又还要想能会可以不没无请望建议希社区小")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def focus(normalized: str, subject: str = "") -> str:
    """The part of a text that says what is asked for.

    Short texts are their own focus. For long ones: the subject (or first line, when it is
    short and the body follows on a new line), plus the first two sentences that contain an
    asking word; failing those, the first sentence.
    """
    if subject:
        subject = subject.strip()
    if len(normalized) <= LONG and not subject:
        return normalized
    body = normalized
    if not subject and "\n" in normalized:
        first, _, rest = normalized.partition("\n")
        if 0 < len(first.strip()) <= 40 and rest.strip():
            subject, body = first.strip(), rest
    parts = sentences(body)
    asks = [s for s in parts if _ASK.search(s)][:2]
    chosen = asks or parts[:1]
    return " ".join(x for x in [subject, *chosen] if x)


def _grams(text: str) -> list[str]:
    out: list[str] = []
    for run in _RUN.findall(text):
        # Latin words are terms of their own; CJK runs give characters and bigrams.
        latin = _LATIN.findall(run)
        out.extend(w for w in latin if len(w) > 2)
        cjk = _LATIN.sub(" ", run)
        for piece in cjk.split():
            piece = "".join(c for c in piece if not c.isdigit())
            n = len(piece)
            out.extend(c for c in piece if c not in _FUNCTION)
            out.extend(piece[i : i + 2] for i in range(n - 1))
    return out


def terms(normalized: str, focus_text: str) -> dict[str, int]:
    """Term counts of a text, its focus counted ``FOCUS_WEIGHT`` times more."""
    counts: Counter[str] = Counter(_grams(masked(normalized)))
    if focus_text and focus_text != normalized:
        for g in _grams(masked(focus_text)):
            counts[g] += FOCUS_WEIGHT
    # interned: hundreds of thousands of texts share a few hundred thousand distinct terms
    return {sys.intern(g): c for g, c in counts.items()}
