"""Drive the real HTTP server with online ballots and check that nothing was lost or doubled.

    python benchmarks/voting_load.py [--seconds 20] [--concurrency 32] [--workers 5] [--kill-after S]

Uses ``DATABASE_URL`` when set (a fresh database is created beside it and dropped after),
else a SQLite file in a temporary directory. Starts ``civicbudget serve`` (gunicorn) on a
free loopback port, registers voters directly in the database, then posts ballots through
``POST /api/cycles/{id}/ballots`` for a bounded time. Prints ballots/s, p50/p99 latency and
the count check: log entries = 201 answers = participations, every returned receipt is in
the log once the vote is closed (ballots go to the log in shuffled batches: the cycle's
default of 100 ballots or 10 minutes), sequence numbers have no gap, the tree's root matches a fresh checkpoint, retries
got their first receipt back and second attempts were refused. ``--kill-after`` sends
SIGKILL to the server mid-load and checks the same invariants on what survived.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env["CIVICBUDGET_DATA_DIR"] = str(tmp)
    env["CIVICBUDGET_SECRET_KEY"] = secrets.token_urlsafe(40)
    env["CIVICBUDGET_SMS_BACKEND"] = "file"
    base = os.environ.get("DATABASE_URL")
    if base:
        url = urlparse(base)
        name = f"cb_load_{os.getpid()}_{int(time.time())}"
        subprocess.run(["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                        "-U", url.username or "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
        env["_CB_LOAD_DB"] = name
    return env


def _drop(env: dict) -> None:
    name = env.get("_CB_LOAD_DB")
    if name:
        url = urlparse(env["DATABASE_URL"])
        subprocess.run(["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                        "-U", url.username or "postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
                       check=False)


def _setup(voters: int) -> dict:
    """Inside the benchmark process (Django set up on the same env): a cycle open for voting."""
    from django.core.management import call_command
    from django.utils import timezone

    from civicbudget.accounts.models import User
    from civicbudget.cycles.services import (
        cycle_create,
        cycle_set_participants,
        pool_set,
        stage_advance,
    )
    from civicbudget.identity import keyed_hash
    from civicbudget.places.models import Community, District, Street
    from civicbudget.voting.api import voter_token
    from civicbudget.voting.models import Voter
    from civicbudget.voting.services import scope_open

    call_command("migrate", verbosity=0)
    op = User.objects.create(username="load-operator", is_superuser=True)
    district = District.objects.create(name="负载区", population=220_000)
    street = Street.objects.create(district=district, name="负载街道", population=220_000)
    community = Community.objects.create(street=street, name="负载社区", population=220_000)
    cycle = cycle_create(actor=op, district=district, template_key="meilan_full_pb", name="负载测试",
                         year=2030, starts_on=timezone.localdate() - dt.timedelta(days=400))
    cycle_set_participants(actor=op, cycle=cycle, streets=[street], communities=[community])
    pool_set(actor=op, cycle=cycle, place=street, amount_yuan=1_050_000)
    pool_set(actor=op, cycle=cycle, place=community, amount_yuan=300_000)
    while cycle.current_stage is None or cycle.current_stage.kind != "vote":
        stage_advance(actor=op, cycle=cycle, reason="load test")
        cycle.refresh_from_db()
    key = f"community:{community.pk}"
    scope = scope_open(cycle=cycle, key=key, title="负载社区", community=community, spec={
        "scope": key, "vote_type": "approval", "budget": "300000", "rule": {"rule": "greedy"},
        "projects": [{"id": str(i), "cost": str(30_000 + 1_000 * i), "name": f"项目{i}"} for i in range(1, 11)],
        "min_length": 1, "max_length": 3})
    rows = [Voter(cycle=cycle, doc_type="id_card", doc_hash=keyed_hash(f"id_card:{i}", "document"),
                  birth_date=dt.date(1980, 1, 1), age_band="45-54", community=community, basis="live",
                  registered_channel="online") for i in range(voters)]
    Voter.objects.bulk_create(rows, batch_size=2000)
    tokens = [voter_token(v) for v in Voter.objects.filter(cycle=cycle).order_by("pk")]
    return {"cycle": cycle.pk, "scope": scope.pk, "tokens": tokens}


def _verify_ledger(cycle) -> str:
    """Close the vote (which counts it), export the public log and run the full verifier on
    it: signatures, every leaf hash against its entry's bytes, every ballot, the re-tally."""
    from civicbudget.accounts.models import User
    from civicbudget.cycles.services import stage_advance
    from civicbudget.ledger import ExportError
    from civicbudget.ledger.verify import verify_export
    from civicbudget.voting.export import export_files

    stage_advance(actor=User.objects.get(username="load-operator"), cycle=cycle,
                  reason="load test: close the vote")
    directory = Path(tempfile.mkdtemp(prefix="cb-load-export-"))
    for name, data in export_files(cycle).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    try:
        verified = verify_export(directory)
    except ExportError as exc:
        return f"FAILED: {exc}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return f"{verified.entries} entries, {verified.checkpoints} checkpoints"


def _check(cycle_id: int, receipts: set[str], created: int) -> dict:
    from civicbudget.cycles.models import Cycle
    from civicbudget.voting import logstore
    from civicbudget.voting.models import LogCheckpoint, LogEntry, Participation, PendingBallot

    cycle = Cycle.objects.get(pk=cycle_id)
    log = logstore.log_for(cycle)
    # While the vote ran, ballots went to the log in batches; what still waited is written
    # when the vote closes (which is what the verification does first).
    batches_during = LogCheckpoint.objects.filter(log=log).count()
    waiting_at_close = PendingBallot.objects.filter(cycle=cycle).count()
    verified = _verify_ledger(cycle)
    log.refresh_from_db()
    entries = LogEntry.objects.filter(log=log).count()
    seqs = list(LogEntry.objects.filter(log=log).order_by("seq").values_list("seq", flat=True))
    stored = set(LogEntry.objects.filter(log=log).values_list("leaf", flat=True))
    participations = Participation.objects.filter(cycle=cycle).count()
    logstore._trees.clear()
    cp = logstore.checkpoint(log)
    return {
        "ledger_verified": verified,
        "batches_while_open": batches_during, "waiting_at_close": waiting_at_close,
        "pending_after_close": PendingBallot.objects.filter(cycle=cycle).count(),
        "log_entries": entries, "log_size": log.size, "participations": participations,
        "created_answers": created, "receipts_missing": len(receipts - stored),
        "seq_gapless": seqs == list(range(len(seqs))), "checkpoint_size": cp.size,
        "duplicates": participations - len({*Participation.objects.filter(cycle=cycle)
                                            .values_list("voter_id", "scope_id")}),
    }


def run(seconds: float = 20, concurrency: int = 32, workers: int = 5, voters: int = 60_000,
        kill_after: float | None = None, quiet: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="cb-load-"))
    env = _prepare_env(tmp)
    os.environ.update({k: v for k, v in env.items() if not k.startswith("_")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "civicbudget.settings"
    import django

    django.setup()
    server = None
    try:
        setup = _setup(voters)
        port = _free_port()
        server_log = (tmp / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "civicbudget.cli", "serve", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(max(4, -(-concurrency // workers) + 2))],
            # The server's log goes to a file: a pipe nobody reads fills up (Django logs each
            # refused second attempt) and then blocks every worker on its next write.
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=server_log)
        deadline = time.monotonic() + 60
        while True:
            # Ready when a worker answers, not when gunicorn has bound the port.
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", f"/api/cycles/{setup['cycle']}/turnout")
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                tail = (tmp / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server did not start:\n{tail}")
            time.sleep(0.2)
        tokens: queue.Queue = queue.Queue()
        for t in setup["tokens"]:
            tokens.put(t)
        latencies: list[float] = []
        receipts: set[str] = set()
        counts = {"201": 0, "200": 0, "refused": 0, "errors": 0, "retry_same_receipt": 0}
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds
        path = f"/api/cycles/{setup['cycle']}/ballots"

        def worker(n: int) -> None:
            # Each voter is a phone of its own: a new connection per voter (kept for that
            # voter's retries), so connections spread over the server's workers as real
            # traffic does rather than pinning to whichever worker accepted first.
            conn = None
            rng = __import__("random").Random(n)
            i = 0
            while time.monotonic() < stop_at:
                try:
                    token = tokens.get_nowait()
                except queue.Empty:
                    break
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                choices = sorted({str(rng.randint(1, 10)) for _ in range(rng.randint(1, 3))})
                body = json.dumps({"scope_id": setup["scope"], "choices": choices,
                                   "token": f"s{n}-{i}"})
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
                started = time.perf_counter()
                try:
                    conn.request("POST", path, body, headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException):
                    with lock:
                        counts["errors"] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    if kill_after is not None:
                        return
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status == 201:
                        counts["201"] += 1
                        receipts.add(json.loads(data)["receipt"])
                    else:
                        counts["errors"] += 1
                # Every 20th voter retries (must get the same receipt) and tries again (refused).
                if response.status == 201 and i % 20 == 0:
                    first = json.loads(data)["receipt"]
                    try:
                        conn.request("POST", path, body, headers)
                        again = conn.getresponse()
                        repeat = json.loads(again.read())
                        conn.request("POST", path, body.replace(f"s{n}-{i}", f"x{n}-{i}"), headers)
                        second = conn.getresponse()
                        second.read()
                    except (OSError, http.client.HTTPException, ValueError):
                        with lock:
                            counts["errors"] += 1
                        if kill_after is not None:
                            return
                        i += 1
                        continue
                    with lock:
                        counts["200"] += again.status == 200
                        counts["retry_same_receipt"] += repeat.get("receipt") == first
                        counts["refused"] += second.status == 400
                i += 1
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        started = time.monotonic()
        for t in threads:
            t.start()
        if kill_after is not None:
            time.sleep(kill_after)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        if kill_after is None:
            wall = min(wall, seconds)
        from django.db import connections

        connections.close_all()
        check = _check(setup["cycle"], receipts, counts["201"])
        lat = sorted(latencies)
        result = {
            "database": "postgresql" if env.get("_CB_LOAD_DB") else "sqlite",
            "workers": workers, "concurrency": concurrency, "seconds": round(wall, 1),
            "ballots": counts["201"], "ballots_per_s": round(counts["201"] / wall, 1) if wall else 0,
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 1) if lat else None,
            **counts, **check, "killed": kill_after is not None,
        }
        if not quiet:
            for k, v in result.items():
                print(f"{k:22} {v}")
        return result
    finally:
        if server and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        from django.db import connections

        connections.close_all()
        _drop(env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--voters", type=int, default=60_000)
    parser.add_argument("--kill-after", type=float, default=None)
    args = parser.parse_args()
    result = run(args.seconds, args.concurrency, args.workers, args.voters, args.kill_after)
    ok = (result["receipts_missing"] == 0 and not result["ledger_verified"].startswith("FAILED") and result["seq_gapless"] and result["duplicates"] == 0
          and result["pending_after_close"] == 0
          and result["log_entries"] == result["participations"] == result["log_size"])
    if not result["killed"]:
        ok = ok and result["log_entries"] == result["created_answers"]
    print("count check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
