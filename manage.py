#!/usr/bin/env python3
"""Ciclo's two commands: ``python3.11 manage.py run`` and ``python3.11 manage.py test``.

Needs only Python 3.11 (with venv) and, for the browser tests, the system package
manager (apt-get) to install Debian's Chromium when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".ciclo-installed"
INPUTS = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]


def sh(*cmd: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check, env=env).returncode


def install() -> None:
    """Create .venv and install Ciclo with pinned versions (skipped when nothing changed)."""
    if sys.version_info[:2] != (3, 11):
        print(f"warning: Ciclo is tested on Python 3.11; this is {sys.version.split()[0]}", file=sys.stderr)
    fresh = STAMP.is_file() and all(STAMP.stat().st_mtime >= p.stat().st_mtime for p in INPUTS)
    if fresh:
        return
    if not (BIN / "python").exists():
        sh(sys.executable, "-m", "venv", VENV)
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[test]")
    STAMP.write_text("ok\n")


def ensure_chromium() -> None:
    """Install Debian's chromium for the real-browser tests when it is missing."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if sh(*apt, "install", "-y", "-q", "chromium", check=False, env=env) != 0:
        sh(*apt, "update", "-q", env=env)
        sh(*apt, "install", "-y", "-q", "chromium", env=env)


def run() -> int:
    install()
    sh(BIN / "mlcore", "db", "upgrade")
    sh(BIN / "mlcore", "demo")
    port = os.environ.get("CICLO_PORT", "8501")
    return sh(BIN / "streamlit", "run", "app.py", "--server.port", port, check=False)


def test(args: list[str]) -> int:
    install()
    ensure_chromium()
    return sh(BIN / "python", "-m", "pytest", *args, check=False)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "install"):
        print(__doc__)
        return 2
    if argv[0] == "run":
        return run()
    if argv[0] == "install":
        install()
        return 0
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
