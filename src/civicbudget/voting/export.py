"""The public export of a closed cycle's ballot log: ``civicbudget ledger export --cycle ID DIR``.

The files are built by :func:`civicbudget.ledger.build_files` from what the database holds:
entries in log order, signed checkpoints, each scope's frozen ballot and published winners.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

from django.core.cache import cache

from civicbudget import ledger
from civicbudget.cycles.models import Cycle
from civicbudget.voting import division, logstore
from civicbudget.voting.models import LogCheckpoint, LogEntry, ScopeResult


def export_data(cycle: Cycle) -> ledger.ExportData:
    log = logstore.log_for(cycle)
    results = list(ScopeResult.objects.filter(scope__cycle=cycle).select_related("scope")
                   .order_by("scope__key"))
    if not results:
        raise ValueError(f"cycle {cycle.pk} has not been counted: nothing to export yet")
    logstore.checkpoint(log)
    return ledger.ExportData(
        cycle=logstore.cycle_label(cycle),
        log_id=log.log_id,
        entries=tuple(d.encode() for d in LogEntry.objects.filter(log=log).order_by("seq")
                      .values_list("data", flat=True)),
        checkpoints=tuple(logstore.signed(cp) for cp in LogCheckpoint.objects.filter(log=log).order_by("size")),
        scopes=tuple(ledger.ScopeResult(division.counted_spec(logstore.spec_from_json(r.scope.spec),
                                                              r.division), tuple(r.winners))
                     for r in results),
        division=division.export_division(results),
        engine=", ".join(sorted({r.engine_version for r in results if r.engine_version}))[:100],
    )


def export_files(cycle: Cycle) -> dict[str, bytes]:
    log = logstore.log_for(cycle)
    return ledger.build_files(export_data(cycle), logstore.signing_key(log))


def ledger_zip(cycle: Cycle, known: str | None = None) -> tuple[str, bytes | None] | None:
    """Return (ETag, zip bytes) of the cycle's public export, None before it is counted.

    The zip is the same bytes for everyone (fixed entry times, sorted names), so two people
    can compare what they downloaded. The bytes are None when ``known`` is already the ETag;
    each process keeps the built zip in its cache until the log or the results change.
    """
    results = list(ScopeResult.objects.filter(scope__cycle=cycle))
    if not results:
        return None
    log = logstore.log_for(cycle)
    latest = logstore.checkpoint(log)  # the export signs one at the log's size if none is
    state = [cycle.pk, log.size, latest.pk, latest.root,
             *sorted((r.scope_id, r.input_hash, r.counted_at.isoformat()) for r in results)]
    etag = '"' + hashlib.sha256(repr(state).encode()).hexdigest()[:32] + '"'
    if known == etag:
        return etag, None
    key = f"civicbudget:ledger-zip:{etag}"
    data = cache.get(key)
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in sorted(export_files(cycle).items()):
                info = zipfile.ZipInfo(f"cycle-{cycle.pk}-ledger/{name}", date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, content)
        data = buffer.getvalue()
        cache.set(key, data, 3600)
    return etag, data


def ledger_export_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="civicbudget ledger export",
                                     description="Write a closed cycle's public ballot log to DIR.")
    parser.add_argument("--cycle", type=int, required=True)
    parser.add_argument("directory")
    args = parser.parse_args(argv)
    cycle = Cycle.objects.filter(pk=args.cycle).first()
    if cycle is None:
        print(f"civicbudget ledger export: no cycle {args.cycle}", file=sys.stderr)
        return 2
    target = Path(args.directory)
    if target.exists() and any(target.iterdir()):
        print(f"civicbudget ledger export: {target} exists and is not empty", file=sys.stderr)
        return 2
    try:
        files = export_files(cycle)
    except ValueError as exc:
        print(f"civicbudget ledger export: {exc}", file=sys.stderr)
        return 2
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files)} files to {target}; check them with: civicbudget ledger verify {target}")
    return 0
