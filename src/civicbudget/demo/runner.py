"""``civicbudget demo``: migrate, load the demo once, print the logins, serve on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command


def run_demo(argv: list[str]) -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(
        prog="civicbudget demo",
        description="Start the platform with demo data: migrate, load the demo district once "
                    "(reused on later runs), print the staff logins and serve on 127.0.0.1.",
        epilog="The database is the one in DATABASE_URL when it is set, else a SQLite file in "
               "the data directory. The demo refuses to run in production or on a database "
               "that holds other districts or accounts.")
    # Read by civicbudget.cli before Django starts (it picks the database); listed here so
    # --help shows it.
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where the SQLite database, uploads and keys live "
                             "(default: ./civicbudget-data)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to serve on, 1-65535 (default: 8000)")
    parser.add_argument("--no-serve", action="store_true",
                        help="prepare the data, print the logins and exit")
    parser.add_argument("--workers", type=int, default=2,
                        help="web server worker processes (default: 2)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be between 1 and 65535")

    from civicbudget.accounts.security import DEMO_PASSWORD
    from civicbudget.demo.data import demo_exists, load_demo
    from civicbudget.demo.guard import demo_refusal

    if (refusal := demo_refusal()) is not None:
        print(refusal, file=sys.stderr)
        return 2
    database = settings.DATABASES["default"]
    where = database["NAME"] if database["ENGINE"].endswith("sqlite3") else database.get("HOST", "")
    print(f"civicbudget demo · database: {where}")
    call_command("migrate", interactive=False, verbosity=0)
    if demo_exists():
        print("Demo data found: reusing it.")
        logins = None
    else:
        print("Loading the demo district (美兰区)...")
        logins = load_demo()
    elapsed = time.monotonic() - started
    url = f"http://127.0.0.1:{args.port}/"
    print(f"\nReady in {elapsed:.1f} s: {url}")
    print(f"Back-office: {url}staff/   API: {url}api/docs   OpenAPI: {url}api/openapi.json")
    print(f"Demo staff logins (password for all: {DEMO_PASSWORD}):")
    if logins is None:
        from civicbudget.accounts.models import RoleAssignment

        print(f"  {'operator':22} operator (all districts)")
        for a in RoleAssignment.objects.select_related(
            "user", "district", "street", "community", "department"
        ).order_by("pk"):
            print(f"  {a.user.username:22} {a.get_role_display()} · {a.place}")
    else:
        for login in logins:
            print(f"  {login.username:22} {login.role} · {login.place}")
    from civicbudget.voting.idcard import id_check_char

    sample = "46010819900101321"
    print(f"\nVote in the 2018 cycle (online or at a polling point) with a made-up resident ID such as"
          f" {sample}{id_check_char(sample)};\nthe SMS codes of the demo are printed here, in this terminal.")
    sys.stdout.flush()
    if args.no_serve:
        return 0
    from civicbudget.web.server import serve

    # The demo has no SMS gateway: the one-time codes appear in this terminal (the worker
    # started below reads the variable, this process the setting).
    if not os.environ.get("CIVICBUDGET_SMS_BACKEND"):
        os.environ["CIVICBUDGET_SMS_BACKEND"] = settings.SMS_BACKEND = "console"

    # Replies, SMS and letters go out through background tasks: the demo runs the worker a
    # production server runs as `civicbudget manage db_worker`, for as long as it serves.
    worker = None
    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
        worker = subprocess.Popen([sys.executable, "-m", "civicbudget.cli", "manage", "db_worker",
                                   "--interval", "2", "--no-reload", "--no-startup-delay"])
        print("Background worker started (replies, SMS and letters).")
    try:
        serve(f"127.0.0.1:{args.port}", workers=args.workers, threads=4)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0
