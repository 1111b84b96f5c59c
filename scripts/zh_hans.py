"""Fill the zh_Hans .po from ``scripts/zh/*.py`` (one ``ZH`` dict per area) and compile it.

Run as ``make messages`` (makemessages, then this); strings missing from every dict are
listed, and the test suite fails on untranslated entries.
"""

import sys
from pathlib import Path

import polib

ZH: dict[str, str] = {}
for module in sorted((Path(__file__).parent / "zh").glob("*.py")):
    # One file per area, so people working on different apps never edit the same dict.
    namespace: dict = {}
    exec(compile(module.read_text(encoding="utf-8"), str(module), "exec"), namespace)  # noqa: S102
    ZH.update(namespace["ZH"])


def main() -> int:
    root = Path(__file__).resolve().parent.parent / "src" / "civicbudget" / "locale"
    po_path = root / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        text = ZH.get(entry.msgid)
        if text is None:
            missing.append(entry.msgid)
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
