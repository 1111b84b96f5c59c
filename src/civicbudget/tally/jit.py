"""The compiled MES run's machine code: where numba caches it, whether it is there, warming it.

numba compiles :mod:`civicbudget.tally.mes_kernel` once per install (3 to 7 s) and caches
the machine code; a process then only loads it (about 0.4 s with numba's import). So that
the first tally after an install does not pay the compile:

- :func:`configure` (called before numba is imported) keeps numba's cache beside the module
  when that directory is writable, and otherwise points ``NUMBA_CACHE_DIR`` at a user cache
  directory (``$XDG_CACHE_HOME/civicbudget/numba``, else ``~/.cache/civicbudget/numba``),
  as for a package installed read-only in site-packages. An explicit ``NUMBA_CACHE_DIR``
  wins.
- :func:`ready` says, without importing numba, whether this very source (its content,
  size and time stamp, numba's and Python's versions, the machine) has been compiled into
  that cache: a stamp file written after a successful compile.
- Add1 uses the compiled run only when it is ready, or already loaded in the process, or
  when the Python runs have already cost far more than a compile (``mes.COMPILE_AFTER``);
  otherwise it runs in Python (same outcome), and ``civicbudget tally`` starts
  :func:`warm_in_background` so that the next run has it.
- ``civicbudget tally --warm`` (:func:`warm`) compiles ahead; ``civicbudget serve`` and
  ``civicbudget demo`` start it in the background at start-up.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL_SOURCE = HERE / "mes_kernel.py"
_digest: str | None = None
_ready = False


def _writable(directory: Path) -> bool:
    target = directory if directory.exists() else directory.parent
    return os.access(target, os.W_OK | os.X_OK)


def user_cache_dir() -> Path:
    """Return the user-wide cache directory for the compiled code."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "civicbudget" / "numba"


def configure() -> Path | None:
    """Set ``NUMBA_CACHE_DIR`` when the module's own directory is read-only; return the dir.

    Must run before numba is imported (numba reads the variable once). Returns None when
    there is nowhere to write (numba then cannot cache; the tally runs in Python).
    """
    explicit = os.environ.get("NUMBA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if _writable(HERE / "__pycache__"):
        return HERE / "__pycache__"
    user = user_cache_dir()
    try:
        user.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not _writable(user):
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(user)
    return user


def _stamp() -> Path | None:
    global _digest
    directory = configure()
    if directory is None:
        return None
    if _digest is None:
        try:
            from importlib.metadata import version

            numba_version = version("numba")
            st = KERNEL_SOURCE.stat()
            h = hashlib.sha256(KERNEL_SOURCE.read_bytes())
        except Exception:  # noqa: BLE001 - no numba, or no source: never ready
            return None
        h.update(f"{st.st_size} {st.st_mtime_ns} {numba_version} {sys.version}".encode())
        h.update(f"{platform.machine()} {platform.processor()}".encode())
        _digest = h.hexdigest()[:20]
    return directory / f"civicbudget-mes-kernel-{_digest}.ready"


def ready() -> bool:
    """Return True when the compiled run is cached for this source (numba not imported)."""
    global _ready
    if not _ready:
        stamp = _stamp()
        _ready = stamp is not None and stamp.exists()
    return _ready


def mark_ready() -> None:
    """Record that the compiled run is in numba's cache (after a successful compile)."""
    global _ready
    stamp = _stamp()
    if stamp is None:
        return
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"compiled {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        _ready = True
    except OSError:  # a read-only cache: numba could not write either
        pass


def warm() -> float:
    """Compile (or load) the compiled MES run now; return the seconds it took.

    Raise RuntimeError when numba is not available (not installed, or disabled with
    ``CIVICBUDGET_TALLY_NO_JIT``).
    """
    from fractions import Fraction

    start = time.perf_counter()
    configure()
    from civicbudget.tally import mes_kernel
    from civicbudget.tally.model import Ballot, Project, election_from_ballots
    from civicbudget.tally.profile import prepare
    from civicbudget.tally.tiebreak import tie_keys

    if not mes_kernel.AVAILABLE:
        raise RuntimeError("numba is not available: the tally runs in Python")
    # a tiny election through the same path as a real one: the same argument types, so
    # the same compiled signatures (numba compiles and caches per signature)
    projects = [Project("a", Fraction(3)), Project("b", Fraction(2)), Project("c", Fraction(2))]
    ballots = [Ballot("1", ("a", "b")), Ballot("2", ("a",)), Ballot("3", ("b", "c"))]
    election = election_from_ballots(projects, 6, ballots)
    for utility in ("cost", "cardinality"):
        prep = prepare(election, utility)
        keys = tie_keys(election, "lexicographic", prep.supporters)
        mes_kernel.FloatMES(prep, keys).run(Fraction(2))
    mark_ready()
    return time.perf_counter() - start


def warm_in_background() -> subprocess.Popen | None:
    """Compile in a detached process unless ready (or disabled); return it, or None.

    ``CIVICBUDGET_TALLY_NO_BACKGROUND=1`` (or ``CIVICBUDGET_TALLY_NO_JIT``) turns it off.
    """
    if (
        os.environ.get("CIVICBUDGET_TALLY_NO_BACKGROUND")
        or os.environ.get("CIVICBUDGET_TALLY_NO_JIT")
        or ready()
        or _stamp() is None
    ):
        return None
    try:
        # a fixed command: this interpreter running this module, no shell, no user input
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "civicbudget.tally.jit"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ},
        )
    except OSError:
        return None


if __name__ == "__main__":  # pragma: no cover - run by warm_in_background
    try:
        warm()
    except Exception:  # noqa: BLE001 - a background helper: the tally works without it
        sys.exit(1)
