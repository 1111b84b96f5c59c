"""Benchmark the replies to proposers: 27,405 personal texts and A4 letters (Meilan 2018's scale).

    python benchmarks/letters.py [--letters 27405] [--batch 1200] [--naive 400]

Prints, in one run:

* the time to compose every reply (SMS, e-mail and letter text, in Chinese) with
  ``results.messages.Composer``;
* the time to render every letter into printable A4 PDFs with ``results.letters.letters_pdf``,
  one PDF per community batch (``--batch`` letters, about a community's pile), and the bytes;
* the total against the 60 s target;
* a naive baseline, one PDF per letter drawn line by line (``letter_pdf_naive``), measured on
  ``--naive`` letters and scaled to the full count, and the ratio naive / ours.

No database is needed: the inputs are synthetic proposals with realistic Chinese names,
titles and every final state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time

STATES = ["selected", "merged_selected", "merged_not_selected", "screened_out", "not_shortlisted",
          "not_enough_votes"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾符邢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红梅"
TITLES = ["3栋楼道灯坏了请更换", "小区东门加装监控", "建设长者饭堂", "篮球场围网修补", "海甸二东路人行道修缮",
          "增设电动车充电桩", "社区图书角", "儿童游乐设施翻新", "垃圾分类亭", "背街小巷路灯"]
PROJECTS = ["楼道照明改造", "东门安防监控", "长者饭堂", "篮球场修缮", "人行道修缮", "电动车充电设施"]
REASONS = ["不惠及公共利益：只涉及个别住户", "超出社区资金池", "已列入政府年度计划", "不具备实施条件：地下管线密集"]


def _setup() -> None:
    os.environ.setdefault("CIVICBUDGET_DATA_DIR", tempfile.mkdtemp(prefix="letters-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicbudget.settings")
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=27_405)
    parser.add_argument("--batch", type=int, default=1_200)
    parser.add_argument("--naive", type=int, default=400)
    args = parser.parse_args(argv)
    _setup()
    from civicbudget.results.letters import Letter, letter_pdf_naive, letters_pdf
    from civicbudget.results.messages import Composer, ReplyInput

    rng = random.Random(2018)
    inputs = [ReplyInput(
        district="美兰区", street=rng.choice(["海甸街道", "人民路街道", "白龙街道", "和平南街道"]),
        community=f"第{rng.randrange(1, 25)}社区", proposer=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
        tracking_code=f"{rng.randrange(16**8):08X}", title=rng.choice(TITLES), state=rng.choice(STATES),
        project=rng.choice(PROJECTS), reason=rng.choice(REASONS), votes=rng.randrange(0, 3000),
        on=dt.date(2018, 7, 1)) for _ in range(args.letters)]

    started = time.perf_counter()
    composer = Composer()
    texts = [composer.compose(r) for r in inputs]
    composed = time.perf_counter() - started
    letters = [Letter(district=r.district, heading="集中回复函", address_lines=(f"{r.street} {r.community}", f"{r.proposer} 收"),
                      text=t.letter, reference=f"2018 社区更新微实事 · {r.tracking_code}")
               for r, t in zip(inputs, texts, strict=True)]
    started = time.perf_counter()
    size = 0
    for i in range(0, len(letters), args.batch):
        size += len(letters_pdf(letters[i:i + args.batch]))
    rendered = time.perf_counter() - started
    total = composed + rendered
    print(f"letters:            {args.letters:,}")
    print(f"compose (3 texts):  {composed:6.2f} s  ({args.letters / composed:,.0f} replies/s)")
    print(f"render A4 PDF:      {rendered:6.2f} s  ({args.letters / rendered:,.0f} letters/s, "
          f"{size / 1e6:.1f} MB in {-(-args.letters // args.batch)} batches)")
    print(f"total:              {total:6.2f} s  (target 60 s: {'met' if total <= 60 else 'MISSED'})")
    sample = letters[: args.naive]
    started = time.perf_counter()
    for letter in sample:
        letter_pdf_naive(letter)
    naive = (time.perf_counter() - started) / len(sample) * args.letters + composed
    print(f"naive baseline:     {naive:6.2f} s  (one PDF per letter, {len(sample)} measured and scaled)")
    print(f"ratio naive / ours: {naive / total:6.2f}x")
    return 0 if total <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
