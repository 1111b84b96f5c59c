"""Place extraction: which building, gate, lane, estate, road or facility a text names.

A place is read from normalised text by patterns, never from a list of names, so new
communities work without configuration:

* a **building** is a number or letter before 栋/幢/座/号楼 (三号楼, 3幢, C座 all read
  as building 3 or c), a house number after a road (博爱北路12号), or "building 3";
* a **gate** is 东门/西门/南门/北门; a **lane section** is a numbered 巷 (三巷);
* an **area** is a name ending in a place word (小区, 花园, 新村, 宿舍, 路, 巷, 公园,
  小学, 渔港, 步道, 溪, ...), possibly compound (和平南路菜市场, 美舍河沿岸步道);
  descriptors such as 沿岸, 边, 门口 are dropped, so 美舍河沿岸步道 and 美舍河步道 meet.

Names are tied together later, per community, by :func:`same_area` (containment of
the stems, e.g. 税务宿舍 ~ 老税务局宿舍, 二东路 ~ 海甸二东路).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

ESTATE = "estate"
ROAD = "road"
FACILITY = "facility"
WATER = "water"
SCHOOL = "school"
ORG = "organisation"  # an employer, shop or company: the "place" of a dispute with it
COMMUNITY = "community"

# Place words, longest first within the alternation; value: kind.
_SUFFIX_KIND: dict[str, str] = {
    "安置小区": ESTATE, "小区": ESTATE, "花园": ESTATE, "新村": ESTATE, "新苑": ESTATE,
    "宿舍区": ESTATE, "宿舍": ESTATE, "家园": ESTATE, "公寓": ESTATE, "大院": ESTATE,
    "山庄": ESTATE, "名苑": ESTATE, "雅苑": ESTATE, "苑": ESTATE, "大厦": ESTATE, "公馆": ESTATE,
    "家属院": ESTATE, "家属区": ESTATE, "村": ESTATE, "华庭": ESTATE, "名城": ESTATE,
    "新城": ESTATE, "花苑": ESTATE, "雅居": ESTATE, "名居": ESTATE, "华府": ESTATE,
    "名邸": ESTATE, "世家": ESTATE, "湾": ESTATE,
    "码头路": ROAD, "主干道": ROAD, "大道": ROAD, "辅路": ROAD, "主路": ROAD, "路口": ROAD,
    "后巷": ROAD, "小巷": ROAD, "巷子": ROAD, "巷道": ROAD, "胡同": ROAD, "路": ROAD,
    "街": ROAD, "巷": ROAD,
    "幼儿园": SCHOOL, "小学": SCHOOL, "中学": SCHOOL, "学校": SCHOOL,
    "公园": FACILITY, "广场": FACILITY, "农贸市场": FACILITY, "菜市场": FACILITY,
    "市场": FACILITY, "夜市": FACILITY, "医院": FACILITY, "公交站": FACILITY,
    "公交总站": FACILITY, "站": FACILITY, "渔港": FACILITY, "码头": FACILITY,
    "老街": FACILITY, "步道": FACILITY, "桥头": FACILITY, "大桥": FACILITY, "桥": FACILITY,
    "海滩": FACILITY, "沙滩": FACILITY, "岛": FACILITY, "片区": FACILITY,
    "河": WATER, "溪": WATER, "江": WATER, "湖": WATER,
    "社区": COMMUNITY,
}  # fmt: skip
PLACE_WORDS = frozenset(_SUFFIX_KIND)
_SYNONYM = {"主干道": "主路", "农贸市场": "市场", "菜市场": "市场", "小巷": "巷", "巷子": "巷", "巷道": "巷",
            "宿舍区": "宿舍", "公交总站": "站", "公交站": "站"}  # fmt: skip
_GUARD = {
    "路": "(?<!道)(?![灯面基径窄])",
    "街": "(?!道)",
    "站": "(?![牌台])",
    "村": "(?!民)",
    "岛": "(?!屿)",
}
_SUFFIX_RE = "|".join(s + _GUARD.get(s, "") for s in sorted(_SUFFIX_KIND, key=len, reverse=True))
# Descriptors that follow a place and are dropped: 美舍河沿岸步道 -> 美舍河.
_DESCRIPTOR = (
    r"(?:沿岸|沿线|沿江段|沿江|沿海|滨水|滨河|边|段|一带|附近|周边|旁边|门口|门前|院内|里面)"
)
# Characters that never belong to a place name (function words, verbs, adjectives).
_STOP = set(
    "的了在对为给把将从到是也都就还与及请要想说我你他她们这那个里很太有没不能会去来被让用向往跟同"
    "每各全整该此其啥么吗呢吧啊呀嘛哪谁几多少些点上下后左右间旁外内近远附靠经过等以并而或且但才又"
    "再更最非常真好得着地于住装修建设加增换改造清疏铺种搭放划拆坏烂堵黑亮吵议望求申报提希关应急盼"
    "一只条段这那处栋幢号层单元部道巷沿进雨回年隔壁复走马半辖联合治"
)  # fmt: skip
_STEM = "[^\\W\\da-z_" + "".join(sorted(_STOP)) + "]"
_LEAD = ("微实事", "辖区", "居民", "晚上", "每天", "夏天", "再次", "今年", "联名", "意见", "老旧")
_GENERIC_STEMS = {"", "老", "老旧", "隔壁", "整个", "开放式", "外面", "附近", "本", "各", "新",
                  "大", "小", "旧", "老人", "安置", "家长", "中",
                  # kinds of facility or firm, not names of one: 搅拌站, 物业公司
                  "搅拌", "垃圾", "中转", "变电", "加油", "充电", "收费", "物业", "开发",
                  "建筑", "劳务", "装修", "装饰", "保安", "物流", "快递", "外卖", "家政",
                  "培训", "中介", "房产", "地产", "科技", "贸易", "这家", "那家", "一家",
                  "该", "涉事", "黑心", "无良", "私人", "个体", "施工", "环卫", "港",
                  "海", "沙"}  # fmt: skip

_SUFFIX_PLAIN = "|".join(sorted(_SUFFIX_KIND, key=len, reverse=True))
_PLACE = re.compile(rf"((?:{_STEM}{{0,6}}?(?:{_SUFFIX_RE}){_DESCRIPTOR}?)+)")
_BUILDING = re.compile(
    r"(?<![0-9a-z])(?P<n>[0-9]{1,3}|[a-h])\s*(?:号楼|栋|幢|号(?=老?楼))|(?<![0-9a-z])(?P<l>[a-h])座"
    r"|路(?P<road>[0-9]{1,4})号"
    r"|\b(?:building|block|bldg\.?|tower)\s*(?:no\.?\s*)?(?P<en>[0-9]{1,3}|[a-h])\b"
    r"|\b(?P<en2>[0-9]{1,3}|[a-h])\s*(?:building|block)\b"
)
_WHOLE = re.compile(
    r"(全部|所有)的?[0-9]*(栋|楼)|整体换|全部翻新|各栋|哪栋|每栋|整片|全小区|整个小区|东修一个"
)
_COUNT_BEFORE = re.compile(r"(全部|共|所有|约|各)$")
_GATE = re.compile(r"(东|西|南|北)门(?!诊)")
_LANE = re.compile(r"(?<![0-9])([0-9]{1,2})巷")
_SHORE = re.compile(r"(江|河|溪|湖|海)边")
_SUFFIX_ONLY = re.compile(rf"(?:{_SUFFIX_RE})")
_STEM_CHAR = re.compile(_STEM)
_EN_PLACE = re.compile(
    r"\b(?!(?:on|in|at|the|of|to|for|near|along|by|and|a)\b)([a-z]+) (road|street|lane|avenue|"
    r"estate|gardens?|park|school|market|village|river|creek)\b"
)
_EN_KIND = {"road": ROAD, "street": ROAD, "lane": ROAD, "avenue": ROAD, "estate": ESTATE,
            "garden": ESTATE, "gardens": ESTATE, "park": FACILITY, "school": SCHOOL,
            "market": FACILITY, "village": ESTATE, "river": WATER, "creek": WATER}  # fmt: skip


@dataclass(frozen=True)
class AreaMention:
    """A named area: canonical ``name``, its ``stem`` (name without the place word),
    the place word ``head`` and its ``kind`` (estate, road, facility, school, water)."""

    name: str
    stem: str
    head: str
    kind: str
    pos: int


@dataclass(frozen=True)
class PlaceMention:
    """Everything place-like in one text, in order of appearance."""

    areas: tuple[AreaMention, ...]
    buildings: tuple[str, ...]
    gates: tuple[str, ...]
    lanes: tuple[str, ...]
    shores: tuple[str, ...]
    whole: bool


# Employers, shops and companies, named by up to ten characters before the word; only
# grammar characters stop a name here, since firms are called 建设, 修缮, 装饰 ...
_ORG = re.compile(
    r"([^\W\d_的了在是我你他她们和与给被把向从对到为个这那有没不很太就都也还让叫"
    r"去来说跟同及或而但]{2,10}?)(有限责任公司|有限公司|公司|集团|工厂|工地|项目部|酒店|宾馆|超市|商场|银行|驾校)"
)
_ORG_HEAD = {"有限责任公司": "公司", "有限公司": "公司"}
_SHORE_DESC = re.compile(r"沿岸|沿线|沿江|沿海|滨水|滨河|边")
_WEAK_ONE_CHAR = {"小区", "花园", "宿舍", "路", "街", "站", "市场", "广场", "公园"}
# A longer run of name characters before a place word is not a name (real ones have a
# dozen at most); tying names compares their substrings, quadratic in the length.
MAX_STEM = 60


def _split_area(raw: str, pos: int) -> AreaMention | None:
    # Drop trailing descriptors, then split off the last place word.
    text = raw
    while True:
        m = re.search(_DESCRIPTOR + "$", text)
        if not m or m.start() == 0:
            break
        text = text[: m.start()]
    head_m = re.search(rf"(?:{_SUFFIX_PLAIN})$", text)
    if not head_m:
        return None
    head = head_m.group(0)
    stem = text[: head_m.start()]
    if len(stem) > MAX_STEM:
        return None
    for lead in _LEAD:
        if stem.startswith(lead):
            stem = stem[len(lead) :]
    kind = _SUFFIX_KIND[head]
    if kind != COMMUNITY:
        stem = strip_admin(stem)
    if kind == COMMUNITY:
        return AreaMention(stem + head, stem, head, kind, pos)
    canon_head = _SYNONYM.get(head, head)
    if stem.startswith("老") and len(stem) > 2:
        stem = stem[1:]
    if stem in _SUFFIX_KIND:
        stem = ""
    if text.endswith("中小学"):
        return None
    if stem in _GENERIC_STEMS or (len(stem) == 1 and canon_head in _WEAK_ONE_CHAR):
        stem = ""
    # A walkway or shore is named by the first real place in it: 美舍河沿岸步道 is
    # 美舍河, 滨江路沿江步道 is 滨江路, 东湖公园湖边 is 东湖公园.
    if canon_head == "步道" or kind == WATER or _SHORE_DESC.search(raw[len(text) :]):
        for m in _SUFFIX_ONLY.finditer(text):
            j = m.start()
            while j > 0 and _STEM_CHAR.match(text[j - 1]):
                j -= 1
            if m.start() - j >= 2 and m.end() < len(text):
                inner = _split_area(text[j : m.end()], pos)
                if inner is not None:
                    return inner
    if kind == WATER and len(stem) < 1:
        return None
    if kind == ESTATE and head == "村" and not stem:
        return None
    # A single-character stem before a generic word (站, 桥, 街, 路) is too weak.
    if not stem and canon_head in {"路", "街", "站", "桥", "村", "巷", "市场"} and head not in {"农贸市场", "菜市场"}:  # fmt: skip
        return None
    return AreaMention(stem + canon_head, stem, canon_head, kind, pos)


# A crossing of two roads is a place of its own: 滨河路与学府路交叉口 is not 滨河路与建设路口.
_ROAD_NAME = r"[^\W\d_与和跟及、的在是到从往向那这个条段边]{1,8}?(?:大道|路|街)"
_JUNCTION = re.compile(
    rf"({_ROAD_NAME})(?:与|和|跟|、|/)?({_ROAD_NAME})(?:交叉口|交汇处|十字路口|丁字路口|路口|口)"
)


JUNCTION = "交叉口"


def _junctions(text: str) -> list[tuple[int, int, AreaMention]]:
    out = []
    for m in _JUNCTION.finditer(text):
        roads = []
        for raw in (m.group(1), m.group(2)):
            area = _split_area(raw, m.start())
            roads.append(area.name if area is not None else raw)
        a, b = sorted(roads)
        out.append((m.start(), m.end(), AreaMention(f"{a}与{b}交叉口", f"{a}与{b}", JUNCTION, ROAD, m.start())))
    return out


def extract_places(text: str) -> PlaceMention:
    """All place mentions in normalised ``text``."""
    junctions = _junctions(text)
    areas: list[AreaMention] = [j for _, _, j in junctions]
    # crossings do not overlap and come in order: the one that may hold a position is the
    # last that starts at or before it (a scan over all of them is quadratic in long texts)
    starts = [start for start, _, _ in junctions]
    for m in _PLACE.finditer(text):
        k = bisect.bisect_right(starts, m.start(1)) - 1
        if k >= 0 and m.start(1) < junctions[k][1]:
            continue
        # A run may hold a compound (和平南路菜市场): keep it whole; descriptors go.
        area = _split_area(m.group(1), m.start(1))
        if area is not None:
            areas.append(area)
    for m in _ORG.finditer(text):
        stem = strip_admin(m.group(1))
        if stem in _GENERIC_STEMS or len(stem) < 2:
            continue
        head = _ORG_HEAD.get(m.group(2), m.group(2))
        areas.append(AreaMention(stem + head, stem, head, ORG, m.start()))
    for m in _EN_PLACE.finditer(text):
        stem, head = m.group(1), m.group(2)
        kind = _EN_KIND[head]
        areas.append(
            AreaMention(f"{stem} {head.rstrip('s')}", stem, head.rstrip("s"), kind, m.start())
        )
    buildings: list[str] = []
    for m in _BUILDING.finditer(text):
        value = m.group("n") or m.group("l") or m.group("road") or m.group("en") or m.group("en2")
        # the words are two characters at most, "$" may stand before a final newline:
        # three characters suffice (searching the whole prefix is quadratic)
        if m.group("n") and _COUNT_BEFORE.search(text[max(0, m.start() - 3) : m.start()]):
            continue
        value = value.lstrip("0") or "0"
        if value not in buildings:
            buildings.append(value)
    gates = tuple(dict.fromkeys(g + "门" for g in _GATE.findall(text)))
    lanes = tuple(dict.fromkeys(n + "巷" for n in _LANE.findall(text)))
    shores = tuple(dict.fromkeys(_SHORE.findall(text)))
    areas.sort(key=lambda a: a.pos)
    return PlaceMention(
        areas=tuple(areas),
        buildings=tuple(buildings),
        gates=gates,
        lanes=lanes,
        shores=shores,
        whole=bool(_WHOLE.search(text)),
    )


_ADMIN = re.compile(r"^[^\W\d_]{1,6}?(?:省|市|自治州|地区|区|县|旗|镇|乡|街道)(?=[^\W\d_]{2})")


_NOT_ADMIN = ("小区", "社区", "园区", "片区", "校区", "城区", "新区", "营区", "厂区", "矿区", "景区")


def strip_admin(stem: str, admin: tuple[str, ...] = ()) -> str:
    """A place stem without the city, district, street or community in front of it.

    "美兰区海达" is "海达" (X区Y小区 and Y小区 are one estate). Names the caller knows
    (``admin``, longest first) go first; then a generic administrative prefix, as long as
    two characters of name are left.
    """
    changed = True
    while changed:
        changed = False
        for name in admin:
            if name and stem.startswith(name) and len(stem) - len(name) >= 2:
                stem = stem[len(name) :]
                changed = True
        m = _ADMIN.match(stem)
        if m and not m.group(0).endswith(_NOT_ADMIN):
            stem = stem[m.end() :]
            changed = True
    return stem


def masked(text: str) -> str:
    """``text`` with place names, building numbers, gates and lanes blanked out.

    A place word that is also a thing residents ask about (公园, 市场, 公厕) stays, as its
    head word: "海达小区3栋楼道灯坏了" becomes "小区 楼道灯坏了".
    """
    out = []
    last = 0
    for m in _PLACE.finditer(text):
        area = _split_area(m.group(1), m.start(1))
        if area is None or not area.stem:
            continue
        out.append(text[last : m.start(1)])
        out.append(f" {area.head} ")
        last = m.end(1)
    out.append(text[last:])
    s = "".join(out)
    s = _ORG.sub(lambda m: f" {_ORG_HEAD.get(m.group(2), m.group(2))} ", s)
    s = _BUILDING.sub(" ", s)
    s = _LANE.sub(" ", s)
    return _GATE.sub(" ", s)


def same_area(a: AreaMention, b: AreaMention) -> bool:
    """Whether two names denote the same area (same kind, one stem inside the other)."""
    if a.kind != b.kind:
        return False
    if a.name == b.name:
        return True
    if JUNCTION in (a.head, b.head):
        return False  # 学府路口 is not the crossing of 学府路 and 滨河路
    if a.head != b.head:
        # 滨江花园小区 ~ 滨江花园, but 滨江花园 and 滨江新苑 differ
        return a.kind == ESTATE and (a.name in b.name or b.name in a.name)
    if not a.stem or not b.stem:
        return False
    return a.stem in b.stem or b.stem in a.stem
