"""Draw the share picture (600x600 PNG) that chat apps show beside a shared link.

Run once when the picture should change: `.venv/bin/python scripts/share_image.py`; it
writes src/civicbudget/web/static/civicbudget/share.png. Needs a Chinese font (Debian's
fonts-noto-cjk); the picture itself is committed, so servers need no font.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
OUT = Path(__file__).resolve().parents[1] / "src/civicbudget/web/static/civicbudget/share.png"
SIDE = 600


def main() -> int:
    image = Image.new("RGB", (SIDE, SIDE), (190, 30, 30))
    draw = ImageDraw.Draw(image)
    big = ImageFont.truetype(FONT, 150, index=2)  # SC face of the collection
    small = ImageFont.truetype(FONT, 52, index=2)
    draw.rounded_rectangle((40, 40, SIDE - 40, SIDE - 40), radius=40, outline=(255, 255, 255), width=8)
    draw.text((SIDE / 2, 250), "微实事", font=big, fill=(255, 255, 255), anchor="mm")
    draw.text((SIDE / 2, 410), "居民提议 · 居民投票", font=small, fill=(255, 235, 200), anchor="mm")
    image.save(OUT, optimize=True)
    print(OUT, image.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
