"""Compile the .po files (the translations' source) and list what still needs a translator.

Run as ``make messages``: Django's ``makemessages`` first adds new strings to each
``locale/*/LC_MESSAGES/django.po`` and keeps every translation already there; this script then
writes the ``.mo`` beside each ``.po`` and prints the entries that are untranslated or fuzzy,
so a developer or a translator (Poedit, Weblate, any gettext tool) knows what to fill in. Exit
status 1 while any remain; the test suite fails on them too.
"""

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "civicbudget" / "locale"


def main() -> int:
    waiting = 0
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
        po = polib.pofile(str(po_path), wrapwidth=100)
        # The header is ours, not a template's: a fuzzy header would make gettext ignore it.
        po.metadata_is_fuzzy = []
        po.header = "civicbudget's interface in this language. This file is the source of the\n" \
            "translations: edit it (Poedit, Weblate or a text editor), then run `make messages`."
        # A date that changes on every run would make every branch's .po conflict.
        po.metadata.pop("POT-Creation-Date", None)
        po.metadata.pop("PO-Revision-Date", None)
        po.metadata.pop("Last-Translator", None)
        po.metadata.update({
            "Project-Id-Version": "civicbudget",
            "Language-Team": "civicbudget translators",
            "Content-Type": "text/plain; charset=UTF-8",
        })
        po.save()
        po.save_as_mofile(str(po_path.with_suffix(".mo")))
        for entry in po:
            if entry.obsolete:
                continue
            if not entry.translated() or entry.fuzzy:
                waiting += 1
                state = "fuzzy" if entry.fuzzy else "untranslated"
                where = entry.occurrences[0][0] if entry.occurrences else "?"
                print(f"{po_path.parent.parent.name}: {state}: {entry.msgid!r} ({where})", file=sys.stderr)
    return 1 if waiting else 0


if __name__ == "__main__":
    sys.exit(main())
