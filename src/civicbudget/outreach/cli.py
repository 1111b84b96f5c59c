"""``civicbudget outreach --cycle ID [--base-url URL] [--street ID] OUT_DIR``: write the kit."""

from __future__ import annotations

import argparse
from pathlib import Path


def outreach_main(argv: list[str]) -> int:
    from django.conf import settings

    from civicbudget.cycles.models import Cycle
    from civicbudget.outreach.kit import kit_write

    parser = argparse.ArgumentParser(
        prog="civicbudget outreach",
        description="Write a cycle's publicity kit for its running stage: an A3 poster and an A5 "
                    "leaflet per poster and leaflet outreach point, an A1 display board per ballot, "
                    "announcement.txt and sms.txt. Every QR code and link carries ?src=CODE.")
    parser.add_argument("--cycle", type=int, required=True, help="the cycle's id")
    parser.add_argument("--base-url", default=settings.PUBLIC_URL,
                        help="the site's public address (default CIVICBUDGET_PUBLIC_URL, %(default)s)")
    parser.add_argument("--street", type=int, help="only the boards of this street and its communities")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")) or len(args.base_url) > 200:
        parser.error("--base-url must be an http:// or https:// address of at most 200 characters")
    cycle = Cycle.objects.select_related("district").filter(pk=args.cycle).first()
    if cycle is None:
        parser.error(f"no cycle has the id {args.cycle}")
    street = None
    if args.street is not None:
        street = cycle.streets.filter(pk=args.street).first()
        if street is None:
            parser.error(f"street {args.street} does not take part in cycle {args.cycle}")
    for path in kit_write(cycle, args.out_dir, args.base_url, street):
        print(path)
    return 0
