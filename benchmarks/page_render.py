"""Warm render time of every page (AppTest) on the demo project, beside an empty Streamlit page.

Usage: python benchmarks/page_render.py [--rows 20000] [--repeat 5]

Prints, per page, the median warm render in seconds, its ratio to the one-second
budget, and its ratio to rendering a trivial one-line app in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["pages/projects.py", "pages/data_import.py", "pages/data_versions.py", "pages/audit.py", "pages/admin.py"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ciclo-bench-"))
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)

    from streamlit.testing.v1 import AppTest

    from mlcore.config import load_settings
    from mlcore.demo import seed_demo
    from mlcore.workspace import open_workspace

    ws = open_workspace(load_settings())
    seed_demo(engine=ws.engine, settings=ws.settings, n_rows=args.rows)
    from mlcore.auth import get_user
    from mlcore.store.engine import session_scope

    with session_scope(ws.engine) as s:
        admin_id = get_user(session=s, name="demo-admin").id

    def timed(make) -> float:
        at = make()
        at.run()  # cold: caches, imports
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - start)
            assert not at.exception, at.exception
        return statistics.median(samples)

    baseline = timed(lambda: AppTest.from_string("import streamlit as st\nst.title('x')", default_timeout=60))
    print(f"demo rows: {args.rows}; reference (one-line app): {baseline:.3f} s")
    print(f"{'page':28} {'warm s':>8} {'/1 s budget':>12} {'/one-line app':>14}")
    for page in PAGES:

        def make(page=page):
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
            at.session_state["user_id"] = admin_id
            at.session_state["last_seen"] = time.time() + 3600
            at.run()
            at.switch_page(page)
            return at

        warm = timed(make)
        print(f"{page:28} {warm:8.3f} {warm / 1.0:12.2f} {warm / baseline:14.1f}")


if __name__ == "__main__":
    main()
