"""Request concepts: what a proposal asks for, as classes of words and phrases.

Each :class:`Concept` is one kind of request a street officer would fund as one
project (楼道灯, 加装电梯, 长者食堂, ...). Its patterns are regular expressions over
normalised text (simplified, lower-case); each match adds its weight, and the concept
with the highest total is the proposal's request. ``scope`` says what "the same
place" means for it:

* ``site``: the most specific place named (building, gate, lane section, estate,
  road, facility); 3栋 and 7栋 differ.
* ``area``: the estate, road or facility; building numbers are ignored (a charging
  shed serves the whole estate even if the text says "between 3栋 and 4栋").
* ``service``: the whole community, unless a school is named.

``family`` groups sub-requests that a resident may name only vaguely: a text that
only says 文艺演出 joins the family's dominant cluster, while 中秋晚会 and 琼剧进社区
stay apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    """One kind of request, with the phrases that express it."""

    name: str
    family: str
    scope: str  # "site" | "area" | "service"
    patterns: tuple[tuple[re.Pattern[str], float], ...]
    generic: bool = False  # a vague member of its family


def _c(name: str, scope: str, *pats: tuple[str, float], family: str = "", generic: bool = False) -> Concept:  # fmt: skip
    return Concept(
        name=name,
        family=family or name,
        scope=scope,
        patterns=tuple((re.compile(p), w) for p, w in pats),
        generic=generic,
    )


STAIR = r"(楼道|楼梯|梯间|上楼|下楼|单元|台阶|stair|corridor|hallway)"
DARK = r"(黑|暗(?!流)|看不见|看不清|没灯|不亮|摸黑|钻山洞|伸手不见|手电|手机照|光都没有|dark)"

CONCEPTS: tuple[Concept, ...] = (
    _c(
        "楼道灯",
        "site",
        (
            r"楼道灯|楼梯灯|声控灯|感应灯|声控照明|声控led|声光控|楼道照明|楼梯照明|楼梯口.{0,6}灯",
            4,
        ),
        (STAIR + r".{0,10}" + DARK, 2),
        (DARK + r".{0,6}" + STAIR, 2),
        (r"灯泡|跺脚|拍不亮|小夜灯|(每层|[0-9]楼|单元|[0-9a-z]栋|号楼).{0,8}灯", 2),
        (r"(stair|corridor|hallway)\w* ?light", 4),
        (STAIR + r".{0,6}灯", 3),
    ),
    _c(
        "路灯",
        "site",
        (r"路灯|照明设施|景观照明|夜间照明|壁灯|太阳能.{0,2}灯|照明", 3),
        (DARK, 1.5),
        (r"(路|巷|街|道|段|桥头|门外|门口|东门|江边|河边|溪边|步道).{0,12}" + DARK, 1.5),
        (r"(street ?light|lamp ?post|road light)", 4),
    ),
    _c(
        "加装电梯",
        "site",
        (r"电梯|elevator|\blifts?\b", 4),
        (
            r"爬楼|爬[0-9七八六五]楼|下不了楼|没下过楼|上下楼太难|下楼|上楼.{0,4}(累|喘|辛苦|难)|下一次楼|楼层高|上落|抬下去|抬担架",
            1.5,
        ),
    ),
    _c(
        "单元门",
        "site",
        (r"单元门(?!口)|防盗门|门禁|铁门|楼门|对讲门|可视对讲|门锁", 4),
        (r"门.{0,4}(关不上|锁坏|坏了|没门锁)", 2),
        (r"(entrance|security) door", 4),
    ),
    _c(
        "外墙",
        "site",
        (r"外墙|墙皮.{0,8}掉|瓷砖.{0,6}掉|立面|灰塑|脱落|掉落|水泥块", 4),
        (r"facade|wall tiles?", 4),
    ),
    _c(
        "水管",
        "site",
        (r"地下水管|(?<![下排污雨])水管|供水|自来水|水箱|爆管|停水|水压", 4),
        (r"水龙头|没水|管子.{0,3}(爆|裂|漏)", 3),
        (r"漏水", 1.5),
        (r"water (pipe|main|supply)", 4),
    ),
    _c(
        "下水道",
        "site",
        (
            r"下水道|下水管|下水(?![游玩])|排水|排污|污水|返水|雨水管|雨污|管网|窨井|马桶|疏通|冒黑水|排水沟|倒灌|水淹|排不出",
            3,
        ),
        (r"堵|积水|清淤|臭", 0.7),
        (r"drain|sewer|sewage", 4),
    ),
    _c("化粪池", "site", (r"化粪池|粪池|清掏", 7), (r"粪水", 3), (r"septic", 5)),
    _c(
        "电动车充电",
        "area",
        (r"充电|充电桩|充电棚|拉线|飞线|吊电线|拉电线|插座|充电口|电瓶拎", 5),
        (r"charg", 5),
    ),
    _c(
        "电动车停放",
        "site",
        (r"车棚|停车棚|非机动车|共享单车|僵尸车|停放点|停放区|停车点|停车区", 3),
        (r"(电动车|电瓶车|单车|自行车|三轮).{0,10}(停|堵|占|挤)|停(满|着).{0,4}(电动车|电瓶车)", 3),
        (r"(bike|scooter) (shed|parking)", 4),
    ),
    _c(
        "停车秩序",
        "area",
        (
            r"停车|车位|乱停|违停|占位|道闸|外来车|停满了车|地锁|消防通道|车停|车都停|车.{0,3}停到",
            3,
        ),
        (r"parking", 4),
    ),
    _c(
        "监控",
        "site",
        (r"监控|摄像头|摄像|探头", 5),
        (r"偷|撬|被盗|治安|丢车|丢东西|陌生人", 1.5),
        (r"cctv|camera|surveillance", 5),
    ),
    _c(
        "垃圾分类",
        "area",
        (
            r"垃圾分类|分类垃圾|分类桶|分类投放|投放点|投放站|垃圾房|分类亭|分类回收|分类意识|积分兑换",
            5,
        ),
        (r"recycl|sorting", 4),
    ),
    _c(
        "垃圾清运",
        "site",
        (r"垃圾|清运|垃圾池|拉走|净滩|塑料瓶|清扫|啤酒瓶", 2.5),
        (r"垃圾桶.{0,6}(满|少|清|溢)", 2),
        (r"litter|rubbish|garbage|trash", 4),
    ),
    _c(
        "绿化",
        "area",
        (
            r"绿化|绿地|种树|补种|草坪|草皮|花草|花木|行道树|树坑|种菜|毁绿|杂草|遮阴|光秃秃|种.{0,3}[树花草]|栽树",
            4,
        ),
        (r"green|trees?\b|lawn", 3),
    ),
    _c(
        "健身器材",
        "area",
        (r"健身|单杠|扭腰|转腰|锻炼", 4),
        (r"器材", 1.5),
        (r"fitness|exercise equip", 4),
    ),
    _c(
        "儿童游乐",
        "area",
        (r"游乐|滑梯|秋千|沙池|没有?地方玩|玩的地方", 5),
        (r"playground|slide|swing", 5),
    ),
    _c(
        "座椅",
        "site",
        (r"座椅|椅子|长椅|休息椅|长凳|石凳|凳子|没地方坐|坐的地方|坐不下|休憩|木椅", 4),
        (r"bench|seat", 4),
    ),
    _c(
        "公共厕所",
        "site",
        (r"公厕|公共厕所|卫生间|上厕所|内急|男厕|女厕", 5),
        (r"厕所", 3),
        (r"toilet|restroom", 5),
    ),
    _c(
        "公交雨棚",
        "site",
        (r"候车亭|雨棚|遮阳的地方|站台", 4),
        (r"公交站|等公交|等车|站牌", 1.5),
        (r"bus (stop|shelter)", 4),
    ),
    _c(
        "道路维修",
        "site",
        (r"路面|坑|硬化|沥青|石板|人行道|步行道|道路|主路|主干道|铺设|铺水泥|烂泥|泥浆|泥潭", 3),
        (r"(路|巷).{0,6}(烂|坏|破|陷)|烂得不成样", 3),
        (r"颠|积水|裂|绊倒|一脚水|透水砖|路面.{0,4}(修|硬化|铺)|修路", 1.5),
        (r"pothole|pavement|sidewalk|road repair|resurfac", 4),
    ),
    _c("井盖", "site", (r"(?<!窨)井盖", 6), (r"manhole", 6)),
    _c(
        "噪音",
        "site",
        (
            r"噪音|扰民|太吵|吵得|吵到|睡不着|睡不好|震天响|低音炮|炸街|飙车|敲锣打鼓|电钻|唱到|喊叫|音响|酒吧|声音太大|轰",
            4,
        ),
        (r"\bnois", 5),
    ),
    _c(
        "学校门口交通",
        "site",
        (r"接送|护学岗|减速带|红绿灯|人行横道|斑马线|过马路|信号灯|指挥|水泄不通", 3),
        (r"(学校|小学|中学|校)门(口|前)", 2),
        (r"school gate|crossing", 4),
    ),
    _c(
        "长者食堂",
        "service",
        (r"食堂|饭堂|助餐|老人餐|爱心餐|凭卡|餐馆|平价.{0,2}餐", 5),
        (r"吃饭|煮饭|做饭|泡面|稀饭|一锅粥|吃饭难|热乎饭", 1.5),
        (r"canteen|meals? for|dining", 5),
    ),
    _c("送餐上门", "service", (r"送餐|送饭|餐配送|助餐配送|谁给她做饭", 7), (r"meal deliver", 7)),
    _c(
        "日间照料",
        "service",
        (r"日间照料|日托|托老|照料中心|照料站", 6),
        (r"白天.{0,10}(照看|照顾|看着|没人看|有人看|有个地方|下棋)", 3),
        (r"day ?care", 6),
    ),
    _c(
        "居家养老",
        "service",
        (
            r"居家养老|养老服务|上门服务|服务站|助洁|助医|陪诊|护工|代买代办|陪同就医|助老|时间银行|陪着去|打扫卫生",
            3,
        ),
        (r"home care", 5),
        family="居家养老",
    ),
    _c("助浴", "service", (r"助浴|洗澡", 5), family="助浴"),
    _c("适老化", "service", (r"扶手|适老化|防滑", 7), family="适老化"),
    _c("紧急呼叫", "service", (r"呼叫|手环|一键|报警器|烟感|智能设备", 5), family="紧急呼叫"),
    _c(
        "独居探访",
        "service",
        (r"探望|探访|上门看看|多上门|定期上门|没看到人|看一眼", 3),
        (r"关心|关爱|看望|陪伴|聊天", 1.5),
        (r"独居|空巢", 1),
    ),
    _c("失独老人", "service", (r"失独", 8)),
    _c(
        "四点半课堂",
        "service",
        (
            r"四点半|三点半|课后|托管|看护|辅导(作业|功课)|作业辅导|写作业|放学.{0,8}没人|作业没人",
            3,
        ),
        (r"没人管", 1),
        (r"after.?school|homework", 5),
    ),
    _c(
        "儿童阅读",
        "service",
        (
            r"阅读|绘本|图书|(?<!不)读书|看书|书屋|书店|讲故事|阅览|课外书|读物|讲解员|书籍|故事书|[买捐].{0,3}书",
            4,
        ),
        (r"reading|library|books", 5),
    ),
    _c(
        "急救培训",
        "service",
        (r"急救|心肺复苏|aed|救护员|海姆立克|包扎|救护(?!车)", 5),
        (r"first aid|cpr", 5),
    ),
    _c(
        "防溺水",
        "service",
        (r"溺水|救生|游泳|游野泳|下水(?![道管])|下海|玩水|落水|掉河|掉下去|暗流|警示", 3),
        (r"drown|swim", 5),
    ),
    _c(
        "防灾演练",
        "service",
        (r"演练|逃生|疏散|避难|避灾|灭火器|应急物资", 4),
        (r"台风|防汛|防台|地震|火灾|消防", 1.5),
        (r"drill|evacuat|typhoon", 5),
    ),
    _c("禁毒宣传", "service", (r"禁毒|毒品|识毒", 7), (r"drug", 6)),
    _c("防欺凌", "site", (r"欺凌|欺负|勒索|孤立|霸凌", 7), (r"bully", 7)),
    _c(
        "青少年心理",
        "service",
        (
            r"心理|抑郁|厌学|叛逆|青春期|减压|压力大|沉迷|家长课堂|家长学校|成长小组|留守|职业规划|不跟我们说话|有心事|不愿意和我们说",
            3,
        ),
        (r"mental|counsel", 5),
    ),
    _c(
        "法律咨询",
        "service",
        (r"法律|律师|普法|维权|调解|纠纷|遗嘱|遗产|懂法|法律明白人|非法集资", 4),
        (r"\blegal|lawyer", 5),
        family="法律",
        generic=True,
    ),
    _c("劳动维权", "service", (r"工资|劳动维权|农民工|拖欠", 6), family="法律"),
    _c("婚姻调解", "service", (r"婚姻|夫妻|婆媳", 6), family="法律"),
    _c("租房纠纷", "service", (r"租房|房东|租客|出租屋.{0,10}纠纷", 6), family="法律"),
    _c(
        "活动室",
        "service",
        (r"活动室|活动中心|棋牌室|书画室|文化室|活动的地方|打牌|毛笔字|下棋", 5),
        (r"activity (room|cent)", 5),
    ),
    _c(
        "文艺演出",
        "service",
        (r"演出|文艺|晚会|联欢|春晚|汇演|表演|游园|灯谜|民俗|剧场|节目|热闹", 3),
        (r"performance|concert|festival", 4),
        family="文艺演出",
        generic=True,
    ),
    _c("琼剧", "service", (r"琼剧", 5), family="文艺演出"),
    _c("中秋活动", "service", (r"中秋", 5), family="文艺演出"),
    _c("元宵活动", "service", (r"元宵", 5), family="文艺演出"),
    _c("春节活动", "service", (r"春节|过年|春联|春晚|年底", 3), family="文艺演出"),
    _c("重阳活动", "service", (r"重阳|敬老", 5), family="文艺演出"),
    _c("广场舞比赛", "service", (r"广场舞比赛|舞蹈队.{0,6}展示", 5), family="文艺演出"),
    _c("渔民节", "service", (r"渔民.{0,3}节|祭海|龙舟|渔家民俗", 5), family="文艺演出"),
    _c(
        "文艺队服装",
        "service",
        (r"服装|演出服|旗袍|乐器|腰鼓|唢呐|音响设备|统一的", 7),
        (r"衣服.{0,8}(旧|褪色|不统一|不整齐|各自|自己)", 4),
        (r"costume|instrument", 5),
    ),
    _c("公共wifi", "site", (r"wifi|无线网|信号(?!灯)", 6)),
    _c("反映渠道", "service", (r"意见箱|微信群|反映给|反映问题", 6)),
    _c("港池清淤", "site", (r"避风塘|港池|淤泥|搁浅", 6)),
    # Requests not in the development set, so that new topics are not forced into old ones.
    _c("屋面防水", "site", (r"屋顶漏|楼顶漏|屋面|防水|渗水|漏雨", 4), (r"roof|leak", 3)),
    _c("树木修剪", "site", (r"修剪|树枝|枯树|树木倒|砍树|树太高|挡光", 4), (r"prun|branches", 4)),
    _c("流浪动物", "site", (r"流浪狗|流浪猫|狗屎|狗粪|遛狗|犬只|野狗|咬人", 5), (r"stray|dog", 4)),
    _c(
        "消杀",
        "area",
        (r"消杀|灭鼠|灭蚊|除四害", 5),
        (r"蚊子|蚊虫|老鼠|蟑螂|苍蝇", 2),
        (r"mosquito|rats?\b|pest", 4),
    ),
    _c("高空抛物", "site", (r"高空抛物|高空坠物|往下扔|楼上扔", 6)),
    _c(
        "运动场地",
        "area",
        (r"篮球|乒乓球|羽毛球|运动场|球场|足球", 5),
        (r"basketball|court|sports", 4),
    ),
    _c(
        "义诊体检",
        "service",
        (r"义诊|体检|量血压|测血糖|(?<!心理)健康讲座|家庭医生", 4),
        (r"health check|clinic", 4),
    ),
    _c("无障碍", "site", (r"无障碍|坡道", 2.5), (r"ramp|wheelchair", 3)),
    _c("快递", "area", (r"快递", 5), (r"parcel|delivery locker", 5)),
    _c("占道经营", "site", (r"摆摊|占道经营|小贩|流动摊|摊贩|占道", 4), (r"vendor|hawker", 4)),
    _c("违章搭建", "site", (r"违建|违章|私搭乱建|乱搭", 5)),
    _c(
        "消防设施",
        "site",
        (r"灭火器|消防栓|消火栓|消防设施|烟雾报警", 3),
        (r"fire extinguisher|hydrant", 4),
    ),
    _c(
        "老年大学",
        "service",
        (r"老年大学|书法班|兴趣班|手机课|学.{0,2}手机|智能手机", 5),
        (r"smartphone class", 5),
    ),
)

BY_NAME: dict[str, Concept] = {c.name: c for c in CONCEPTS}


@dataclass(frozen=True)
class Request:
    """The request found in one text: the winning concept and the runner-up scores."""

    concept: str | None
    family: str | None
    scope: str
    score: float
    scores: tuple[tuple[str, float], ...]


_SCOPE_DEFAULT = "site"


def find_request(text: str) -> Request:
    """Score every concept on normalised ``text`` and return the best one."""
    scores: dict[str, float] = {}
    for concept in CONCEPTS:
        total = 0.0
        for pattern, weight in concept.patterns:
            if pattern.search(text):
                total += weight
        if total > 0:
            scores[concept.name] = total
    # A family's specific member wins over its generic member when both fire.
    for concept in CONCEPTS:
        if concept.generic and concept.name in scores:
            for other in CONCEPTS:
                if other.family == concept.family and other is not concept and other.name in scores:
                    scores[other.name] += scores[concept.name]
    # Darkness near stairs is a stairwell light, not a street light.
    if "楼道灯" in scores and "路灯" in scores:
        if re.search(r"路灯|street ?light", text):
            scores["路灯"] += 2
        elif re.search(STAIR + r"|[0-9a-z]栋|[0-9]号楼", text):
            scores["楼道灯"] += 2
    # Electric bikes parked (not charged) are a parking request of their own kind.
    if "电动车停放" in scores and "停车秩序" in scores:
        scores["停车秩序"] -= 2
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], _ORDER[kv[0]]))
    if not ranked or ranked[0][1] < 1.5:
        return Request(None, None, _SCOPE_DEFAULT, 0.0, tuple(ranked))
    best = BY_NAME[ranked[0][0]]
    return Request(best.name, best.family, best.scope, ranked[0][1], tuple(ranked[:4]))


_ORDER = {c.name: i for i, c in enumerate(CONCEPTS)}
