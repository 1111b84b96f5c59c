"""Mark printed ballot sheets as voters do and write them as crooked, noisy scans.

    python scripts/paper_sheets_marked.py OUT.pdf SCANS_DIR [--seed 16] [--duplicate 1]

Reads ``OUT.pdf`` and ``OUT.layout.json`` (from ``civicbudget ballots print``), marks each
sheet (clear marks, and on some sheets a faint mark, an erasure or a tick beside a box),
scans it at 150, 200 or 300 dpi turned up to ±3°, blurred, noisy, as JPEG or PNG, feeds
``--duplicate`` sheets twice, and writes ``SCANS_DIR/expected.json``: what
``civicbudget ballots scan --dry-run --json`` should print for each file. For trying the
reader on a real database (docs/paper-ballots.md) without a scanner.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from civicbudget.paper import layout, synthetic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--duplicate", type=int, default=1)
    parser.add_argument("--max-choices", type=int, default=5)
    args = parser.parse_args(argv)
    sheet_layout = json.loads(args.pdf.with_name(args.pdf.stem + ".layout.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    dpis = (150, 200, 300)
    rendered = {dpi: synthetic.rasterise(args.pdf.read_bytes(), dpi) for dpi in dpis}
    expected = []
    seen = set()
    for i, page in enumerate(sheet_layout["pages"]):
        dpi = dpis[i % 3]
        image = rendered[dpi][i].copy()
        boxes = layout.boxes_from_json(page["boxes"])
        n = int(rng.integers(1, min(args.max_choices, len(boxes)) + 1))
        chosen = [boxes[j] for j in sorted(rng.choice(len(boxes), n, replace=False))]
        marked, ambiguous = [], []
        for box in chosen:
            synthetic.mark(image, box, ("fill", "tick", "cross")[int(rng.integers(3))], dpi, rng)
            marked.append(box.project)
        rest = [b for b in boxes if b not in chosen]
        if rest and i % 4 == 1:  # a faint, erased or beside-the-box mark: for officers
            box = rest[0]
            synthetic.mark(image, box, ("faint", "erasure", "outside", "faint_tick")[i // 4 % 4], dpi, rng)
            ambiguous.append(box.project)
        if i % 3 == 2:
            synthetic.stray(image, dpi, rng)
        feeds = 2 if i < args.duplicate else 1
        for feed in range(feeds):
            jpeg = None if i % 5 == 4 else int(rng.integers(60, 90))
            data = synthetic.scan(image, angle=float(rng.uniform(-3, 3)), rng=rng,
                                  blur=float(rng.uniform(0.3, 1.0)), noise=float(rng.uniform(3, 8)), jpeg=jpeg)
            # A rescan is named after the last sheet, so a sorted file list meets it second.
            number = len(sheet_layout["pages"]) + i + 1 if feed else i + 1
            name = args.out / f"sheet-{number:03d}{'-rescan' if feed else ''}.{'jpg' if jpeg else 'png'}"
            name.write_bytes(data)
            order = [b.project for b in boxes]
            expected.append({"file": str(name), "page": 1, "sheet": page["sheet"],
                             "marked": sorted(marked, key=order.index),
                             "ambiguous": sorted(ambiguous, key=order.index),
                             "problem": "duplicate" if page["sheet"] in seen else None})
            seen.add(page["sheet"])
    (args.out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(expected)} scans written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
