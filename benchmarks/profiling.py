"""Data understanding on 100,000 x 25: the native overview against ydata-profiling's minimal report.

Targets: overview (statistics, relation to the target, every distribution figure's data) in at
most 0.25x the time of ``ProfileReport(df, minimal=True).to_html()``; that report's HTML at most
20 MB; re-opening a profiled version from its cached HTML file in under 0.5 s.

Run: ``python benchmarks/profiling.py [--rows 100000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from mlcore.data.profiling import (
    distribution_figure,
    overview,
    profile_report_html,
    target_relation_strength,
)
from mlcore.data.synthetic import make_churn

T = TypeVar("T")

ROLES = {
    "customer_id": "identifier",
    "signup_date": "datetime",
    "contract": "categorical",
    "payment_method": "categorical",
    "region": "categorical",
    "senior": "boolean",
    "has_partner": "boolean",
    "last_complaint": "text",
    "cancellation_fee_charged": "boolean",
    "churned": "categorical",
}


def build_frame(rows: int, columns: int = 25) -> pd.DataFrame:
    """The demo churn data plus extra numeric columns (some skewed, some with gaps) up to ``columns``."""
    df = make_churn(rows, random_state=0).current
    rng = np.random.default_rng(0)
    for i in range(columns - df.shape[1]):
        values = rng.lognormal(0.0, 0.5 + 0.1 * i, rows) if i % 2 else rng.normal(50.0, 10.0, rows)
        values[rng.random(rows) < 0.02 * (i % 3)] = np.nan
        df[f"extra_{i}"] = values
    return df


def _timed(label: str, func: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    print(f"{label:<58} {elapsed:8.3f} s")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    df = build_frame(args.rows)
    print(f"frame: {df.shape[0]:,} rows x {df.shape[1]} columns\n")

    def native() -> None:
        ov = overview(df, roles=ROLES, target="churned")
        target_relation_strength(df, target="churned", roles=ROLES, task_type="classification")
        # The figures' data is in the overview; building the plotly objects is the page's
        # on-demand step, timed separately below.
        assert len(ov.distributions) == df.shape[1]

    _, t_native = _timed("native overview + relation strength", native)
    ov = overview(df, roles=ROLES, target="churned")
    _, t_figures = _timed(
        f"  + building all {df.shape[1]} distribution figures (plotly)",
        lambda: [distribution_figure(ov, c) for c in df.columns],
    )

    # The same call ydata-profiling users make, on the whole frame (no sampling), with telemetry off.
    from mlcore.data.profiling import _ydata

    yp = _ydata()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html, t_ydata = _timed(
            "ProfileReport(df, minimal=True).to_html()",
            lambda: yp.ProfileReport(df, minimal=True, progress_bar=False).to_html(),
        )
    mb = len(html.encode("utf-8")) / 1e6

    result, t_ours = _timed(
        "profile_report_html(df) (minimal, sampled to 50,000 rows)", lambda: profile_report_html(df, title="bench")
    )

    with tempfile.TemporaryDirectory() as tmp:
        cached = Path(tmp) / "report.html"
        cached.write_text(result.html, encoding="utf-8")
        _, t_reopen = _timed(
            "re-open a profiled version (read cached HTML)", lambda: cached.read_text(encoding="utf-8")
        )

    ratio = t_native / t_ydata
    ratio_with_figures = (t_native + t_figures) / t_ydata
    print()
    print(f"ratio native / ydata:                 {ratio:.3f}   (target <= 0.25) {'OK' if ratio <= 0.25 else 'MISSED'}")
    print(f"ratio incl. building every figure:    {ratio_with_figures:.3f}")
    print(f"ydata minimal HTML, whole frame:      {mb:.2f} MB (target <= 20) {'OK' if mb <= 20 else 'MISSED'}")
    print(f"profile_report_html HTML:             {result.size_bytes / 1e6:.2f} MB (sampled: {result.sampled})")
    print(
        f"re-open from cache:                   {t_reopen:.4f} s (target < 0.5) {'OK' if t_reopen < 0.5 else 'MISSED'}"
    )
    print(f"(profile_report_html took {t_ours:.1f} s)")


if __name__ == "__main__":
    main()
