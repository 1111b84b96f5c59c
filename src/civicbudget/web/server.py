"""Run the WSGI app under gunicorn from inside the ``civicbudget`` command."""

from __future__ import annotations

import argparse
import os
import sys

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, application, options: dict) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def serve(bind: str, workers: int, threads: int) -> None:
    """Serve the platform on ``bind`` until interrupted."""
    from django.core.wsgi import get_wsgi_application

    _Gunicorn(get_wsgi_application(), {
        "bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
        "timeout": 120, "graceful_timeout": 10, "accesslog": None, "errorlog": "-",
        "loglevel": "warning", "proc_name": "civicbudget",
    }).run()


def run_gunicorn(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="civicbudget serve",
                                     description="Serve the platform with gunicorn.")
    parser.add_argument("--bind", default=os.environ.get("CIVICBUDGET_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0"))
                        or (os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    args = parser.parse_args(argv)
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        # The system checks first: production refuses to serve demo accounts (accounts.checks).
        call_command("check")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.migrate:
        call_command("migrate", interactive=False, verbosity=1)
    serve(args.bind, args.workers, args.threads)
    return 0
