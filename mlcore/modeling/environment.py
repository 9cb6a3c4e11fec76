"""The software a training run used, recorded with the run, and the check that refuses a model
saved under package versions that may unpickle it differently."""

from __future__ import annotations

import platform
import socket
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from mlcore.errors import InputError

__all__ = ["CHECKED_PACKAGES", "PACKAGES", "check_environment", "environment_fingerprint"]

PACKAGES: tuple[str, ...] = ("scikit-learn", "numpy", "pandas", "scipy", "joblib", "pyarrow")
"""Distributions whose exact versions are recorded with every run."""

CHECKED_PACKAGES: tuple[str, ...] = ("scikit-learn", "numpy", "joblib")
"""Distributions whose major.minor version must match before a saved model is loaded: a pickled
estimator is only guaranteed to load and behave the same under the versions that wrote it."""

_GIT_TIMEOUT_S = 5.0
_REPO = Path(__file__).resolve().parents[2]


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    """Output of a git command in Ciclo's source folder, or None (no git, not a checkout, too slow)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment_fingerprint() -> dict[str, Any]:
    """Describe the running software and machine, JSON-safe, to be stored with a run.

    Returns
    -------
    dict
        ``python`` (version), ``packages`` (distribution -> version or None for each of
        :data:`PACKAGES`), ``ciclo`` (Ciclo's installed version or None), ``git_commit`` and
        ``git_dirty`` (None when git or the checkout is unavailable), ``host``, ``platform``,
        ``machine``.

    Examples
    --------
    >>> fp = environment_fingerprint()
    >>> sorted(fp["packages"]) == sorted(PACKAGES), fp["python"].count(".")
    (True, 2)
    """
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "ciclo": _version("ciclo"),
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def _major_minor(version: str | None) -> tuple[str, ...] | None:
    if not version:
        return None
    return tuple(version.split(".")[:2])


def check_environment(recorded: Mapping[str, Any]) -> None:
    """Refuse to go on if a model was saved under other scikit-learn, NumPy or joblib versions.

    Only major.minor is compared: patch releases keep pickles compatible.

    Parameters
    ----------
    recorded : mapping
        The :func:`environment_fingerprint` stored with the model.

    Raises
    ------
    InputError
        ``modeling.env_mismatch`` naming the first package whose version differs (or was not
        recorded), with the recorded and the running versions.

    Examples
    --------
    >>> check_environment(environment_fingerprint())
    >>> old = {"packages": {"scikit-learn": "0.24.2", "numpy": "1.19.5", "joblib": "1.0.1"}}
    >>> check_environment(old)
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: This model was saved with scikit-learn 0.24.2, but Ciclo is running ...
    """
    packages = recorded.get("packages") if isinstance(recorded, Mapping) else None
    if not isinstance(packages, Mapping):
        packages = {}
    for name in CHECKED_PACKAGES:
        saved, running = packages.get(name), _version(name)
        saved_text = str(saved) if saved else "?"
        if _major_minor(str(saved) if saved else None) != _major_minor(running):
            raise InputError("modeling.env_mismatch", package=name, recorded=saved_text, running=running or "?")
