"""Where the browser tests find Debian's chromium and put their screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CIVICBUDGET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CIVICBUDGET_TEST_ARTIFACTS", "test-results"))
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no chromium at {CHROMIUM}")

# --- checks every page of a browser test can run --------------------------------------------

# Rule ids, targets and help of the violations a resident would be stopped by; minor and
# moderate findings (best practice, redundant roles) are left to review.
BLOCKING_IMPACTS = ("serious", "critical")


def accessibility_violations(page) -> list[str]:
    """The serious and critical axe-core violations of the page as shown now, one line each:
    rule id, the CSS target of each offending element, and axe's help text."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        found.append(f"{violation['id']} ({violation['impact']}) on {', '.join(targets)}: "
                     f"{violation['help']}")
    return found


def assert_accessible(page) -> None:
    """Fail when axe-core finds a serious or critical violation on the page."""
    found = accessibility_violations(page)
    assert not found, f"{page.url}:\n  " + "\n  ".join(found)


# Format, code and unit names that stay Latin in Chinese (a resident meets them as such).
LATIN_ALLOWED = frozenset({"CSV", "JSON", "PDF", "XLSX", "SMS", "ID", "API", "PNG", "ZIP", "URL", "MB", "A4"})

# Visible text, placeholders, labels and alt texts of the page, outside <code>, <kbd>,
# <script>, <style>, anything marked lang="en" (an English name on purpose) or
# data-allow-latin (a hash, a receipt, a command): what a resident reads or hears.
_READABLE_TEXT = """() => {
  const skip = 'code, kbd, samp, script, style, [lang="en"], [data-allow-latin]';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !n.textContent.trim()) continue;
    // A select's options count although only the chosen one shows: a tap opens them all.
    if (!el.closest('option') && !el.checkVisibility({visibilityProperty: true})) continue;
    out.push(n.textContent.trim());
  }
  for (const el of document.body.querySelectorAll('[placeholder], [aria-label], img[alt], input[type=submit][value], input[type=button][value]')) {
    if (el.closest(skip)) continue;
    for (const a of ['placeholder', 'aria-label', 'alt', 'value']) {
      if (el.hasAttribute(a) && (a !== 'value' || el.type === 'submit' || el.type === 'button')) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""


def latin_words(page) -> list[str]:
    """English words a reader of the Chinese interface would meet on the page: runs of two or
    more Latin letters in its readable text, less the format names of LATIN_ALLOWED."""
    import re

    found = []
    for text in page.evaluate(_READABLE_TEXT):
        found += [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_ALLOWED]
    return found


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
