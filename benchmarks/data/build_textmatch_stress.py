"""Build ``textmatch_stress.csv`` from the hand-written ``textmatch_stress_src.txt``.

    python benchmarks/data/build_textmatch_stress.py

The source holds the messages cluster by cluster (see its header). This script only
numbers them, adds the controlled variants the source asks for (``V typo``, ``V trad``,
``V repost``: deterministic, seeded), shuffles the rows with a fixed seed (a portal
receives messages in no particular order) and writes
``id,community,place,cluster,origin,text``. ``origin`` is ``hand`` or e.g.
``typo:s0123`` (a variant of the hand-written row s0123's text).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "textmatch_stress_src.txt"
OUT = HERE / "textmatch_stress.csv"
SEED = 14

# Simplified -> traditional for the characters these messages use most (enough to make
# a variant read as typed on a traditional-character keyboard).
_S2T_PAIRS = (
    "区區 楼樓 电電 灯燈 门門 车車 业業 开開 关關 问問 题題 这這 个個 们們 说說 来來 时時 没沒 还還 "
    "会會 对對 为為 发發 现現 后後 经經 过過 动動 话話 请請 报報 应應 该該 办辦 处處 边邊 给給 让讓 "
    "进進 长長 头頭 声聲 响響 觉覺 学學 费費 钱錢 买買 卖賣 装裝 线線 压壓 场場 贷貸 间間 热熱 环環 "
    "卫衛 护護 从從 实實 际際 难難 几幾 么麼 样樣 点點 级級 员員 诉訴 复復 无無 与與 万萬 将將 帮幫 "
    "总總 谢謝 烦煩 认認 识識 种種 况況 继繼 续續 规規 划劃 监監 检檢 执執 质質 积積 涝澇 气氣 养養 "
    "宠寵 摊攤 贩販 乱亂 运運 营營 调調 资資 劳勞 务務 层層 邻鄰 满滿 单單 绿綠 园園 华華 湾灣 东東 "
    "桥橋 广廣 丰豐 凤鳳 鹭鷺 云雲 锦錦 绣繡 龙龍 铁鐵 厂廠 饭飯 馆館 医醫 药藥 条條 证證 书書 记記 "
    "讲講 读讀 写寫 见見 网網 号號 码碼 机機 脑腦 师師 岁歲 爷爺 妈媽 刚剛 结結 离離 极極 简簡 风風 "
    "险險 隐隱 标標 准準 转轉 达達 权權 维維 补補 偿償 协協 议議 签簽 订訂 约約 价價 涨漲 据據 儿兒 "
    "闻聞 钟鐘 击擊 远遠 选選 择擇 设設 备備 修修 换換 坏壞 损損 伤傷 农農 贵貴 迁遷 产產 虽雖 虑慮 "
    "态態 优優 专專 负負 责責 紧緊 严嚴 称稱 论論 导導 领領 辆輛 块塊 驾駕 驶駛 罚罰 纪紀 饮飲 烧燒 "
    "烟煙 尘塵 扬揚 浆漿 搅攪 挡擋 墙牆 闸閘 渗滲 湿濕 顶頂 盖蓋 围圍 栏欄 队隊 带帶 梯梯 宁寧 欢歡 "
    "孙孫 爱愛 亲親 戏戲 乐樂 听聽 惊驚 吓嚇 险險 摄攝 视視 频頻 题題 盘盤 筑築 钢鋼 构構 饰飾 绩績 "
    "补補 厕廁 滩灘 码碼 弯彎 边邊 纺紡 织織 宿宿 舍舍 杂雜 乡鄉 镇鎮 县縣 狮獅 鸡雞 鱼魚 鸟鳥 虫蟲"
)
S2T = {p[0]: p[1] for p in _S2T_PAIRS.split()}

# Common input-method typos (right -> wrong), the kind residents really make.
TYPOS = (
    ("电梯", "电题"), ("建议", "建意"), ("小区", "小曲"), ("噪音", "躁音"), ("希望", "希忘"),
    ("反映", "反应"), ("投诉", "投述"), ("已经", "以经"), ("工资", "工姿"), ("物业", "物叶"),
    ("路灯", "路登"), ("楼道", "楼到"), ("安装", "按装"), ("处理", "处里"), ("老板", "老版"),
    ("危险", "危陷"), ("孩子", "孩了"), ("积水", "积氺"), ("社区", "设区"), ("停车", "停东"),
    ("学位", "学为"), ("服务", "服物"), ("维修", "维休"), ("拖欠", "托欠"), ("晚上", "晚尚"),
)  # fmt: skip

REPOST_PREFIX = (
    "再次反映：", "【重复投诉】", "第三次留言了，还是没人管！", "顶一下，问题还没解决。",
    "上次留言没有回复，再发一遍：", "转发邻居的留言：",
)  # fmt: skip


def to_trad(text: str) -> str:
    return "".join(S2T.get(ch, ch) for ch in text)


def with_typos(text: str, rng: random.Random) -> str:
    hits = [(r, w) for r, w in TYPOS if r in text]
    rng.shuffle(hits)
    for right, wrong in hits[:2]:
        text = text.replace(right, wrong, 1)
    if not hits:  # no known word: drop one character of the body instead
        i = rng.randrange(len(text) // 3, len(text) - 1)
        text = text[:i] + text[i + 1 :]
    return text.replace("，", ",", 1)


def repost(text: str, rng: random.Random) -> str:
    subject, _, body = text.partition("\n")
    body = body or subject
    if rng.random() < 0.5:
        body = body.replace("。", "！")
    return rng.choice(REPOST_PREFIX) + (subject + "\n" + body if rng.random() < 0.5 else body)


VARIANTS = {"typo": with_typos, "trad": lambda t, _rng: to_trad(t), "repost": repost}


def parse(src: Path) -> list[dict[str, str]]:
    """Rows in source order: community, place, cluster, origin ('hand' or 'op'), text."""
    rows: list[dict[str, str]] = []
    clusters: dict[str, tuple[str, str]] = {}
    current: dict[str, str] | None = None
    last_hand: int | None = None
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("# "):
            continue
        if line.startswith("## "):
            key, community, place, _note = (f.strip() for f in line[3:].split("|"))
            key = key or f"auto{n:04d}"
            if key in clusters and clusters[key] != (community, place):
                raise SystemExit(f"line {n}: cluster {key} changes community/place")
            clusters[key] = (community, place)
            current = {"community": community, "place": place, "cluster": key}
            last_hand = None
        elif line.startswith("M "):
            if current is None:
                raise SystemExit(f"line {n}: message before any cluster header")
            rows.append({**current, "origin": "hand", "text": line[2:].replace("\\n", "\n")})
            last_hand = len(rows) - 1
        elif line.startswith("V "):
            op = line[2:].strip()
            if current is None or last_hand is None or op not in VARIANTS:
                raise SystemExit(f"line {n}: bad variant line {line!r}")
            rows.append({**current, "origin": f"{op}:{last_hand}", "text": ""})
        else:
            raise SystemExit(f"line {n}: cannot parse {line!r}")
    return rows


def build(src: Path = SRC) -> list[dict[str, str]]:
    rows = parse(src)
    rng = random.Random(SEED)
    order = list(range(len(rows)))
    rng.shuffle(order)
    new_id = {old: f"s{k + 1:04d}" for k, old in enumerate(order)}
    cluster_no: dict[str, str] = {}
    for r in rows:  # cluster ids in source order, readable and stable
        cluster_no.setdefault(r["cluster"], f"c{len(cluster_no) + 1:03d}")
    out = []
    for old in order:
        r = dict(rows[old])
        if r["origin"] != "hand":
            op, base = r["origin"].split(":")
            r["text"] = VARIANTS[op](rows[int(base)]["text"], random.Random(f"{SEED}:{old}"))
            r["origin"] = f"{op}:{new_id[int(base)]}"
        out.append(
            {"id": new_id[old], "community": r["community"], "place": r["place"],
             "cluster": cluster_no[r["cluster"]], "origin": r["origin"], "text": r["text"]}
        )  # fmt: skip
    return out


def main() -> int:
    rows = build()
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "community", "place", "cluster", "origin", "text"])
        w.writeheader()
        w.writerows(rows)
    sizes: dict[str, int] = {}
    for r in rows:
        sizes[r["cluster"]] = sizes.get(r["cluster"], 0) + 1
    placeless = sum(1 for r in rows if not r["place"])
    hand = sum(1 for r in rows if r["origin"] == "hand")
    lengths = sorted(len(r["text"]) for r in rows)
    print(
        f"{len(rows)} rows ({hand} hand-written), {len(sizes)} clusters, largest "
        f"{max(sizes.values())}, place-less {placeless} ({placeless / len(rows):.0%}), "
        f"text length {lengths[0]}-{lengths[-1]} (median {lengths[len(lengths) // 2]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
