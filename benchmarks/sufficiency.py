"""Benchmark: ``learning_curve_study`` versus ``sklearn.model_selection.learning_curve``.

Both run on the demo churn data (target ``churned``; ``customer_id``, the leaking
``cancellation_fee_charged``, the free-text complaint and the signup date dropped) with the
same estimator (mlcore's default model), the same fractions and the same stratified folds,
in the same process, alternating, best of ``--repeat``. Prints both times and the ratio;
the target is <= 1.2. The study also reports progress (to a no-op callback) and fits the
power law, so its overhead is included.

    python benchmarks/sufficiency.py --rows 20000 --repeat 3 [--threads 1] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TIME_TARGET = 1.2
DROPPED = ["churned", "customer_id", "cancellation_fee_charged", "last_complaint", "signup_date"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--metric", default="roc_auc")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS/OpenMP threads on both sides (OpenMP spinning on a busy shared machine makes timings erratic)",
    )
    args = parser.parse_args()

    from sklearn.model_selection import StratifiedKFold, learning_curve
    from threadpoolctl import threadpool_limits

    from mlcore.data.synthetic import make_churn
    from mlcore.planning.sufficiency import (
        _SCORERS,
        DEFAULT_FRACTIONS,
        default_estimator,
        learning_curve_study,
    )

    demo = make_churn(args.rows, random_state=42).current
    y = demo["churned"]
    X = demo.drop(columns=DROPPED)
    estimator = default_estimator(X, task_type="classification", random_state=0)
    splitter = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    calls: list[float] = []

    def run_sklearn() -> None:
        learning_curve(
            estimator,
            X,
            y,
            train_sizes=list(DEFAULT_FRACTIONS),
            cv=splitter,
            scoring=_SCORERS[args.metric][0],
            n_jobs=args.n_jobs,
        )

    def run_study() -> None:
        study = learning_curve_study(
            X,
            y,
            task_type="classification",
            metric=args.metric,
            estimator=estimator,
            fractions=DEFAULT_FRACTIONS,
            cv=args.cv,
            threshold=0.80,
            n_jobs=args.n_jobs,
            progress=lambda share, key: calls.append(share),
        )
        run_study.last = study  # type: ignore[attr-defined]

    times: dict[str, list[float]] = {"sklearn": [], "study": []}
    with threadpool_limits(limits=args.threads):
        for _ in range(args.repeat):
            for name, step in (("sklearn", run_sklearn), ("study", run_study)):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)

    ratio = min(times["study"]) / min(times["sklearn"])
    study = run_study.last  # type: ignore[attr-defined]
    print(
        f"rows={args.rows} folds={args.cv} fractions={DEFAULT_FRACTIONS} metric={args.metric} "
        f"n_jobs={args.n_jobs} threads={args.threads or 'default'}"
    )
    for name, label in (("sklearn", "sklearn learning_curve"), ("study", "learning_curve_study  ")):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{label} : best {min(times[name]):.2f} s  (runs: {runs})")
    verdict = "OK" if ratio <= TIME_TARGET else "OVER"
    print(f"ratio study/sklearn    : {ratio:.2f}  (target <= {TIME_TARGET})  {verdict}")
    print(f"sizes {study.train_sizes}; validation {[round(v, 3) for v in study.val_mean]}")
    print(f"verdict: {study.verdict} {study.verdict_params}")
    needed = study.rows_needed
    if needed is not None:
        print(f"rows needed for {args.metric} >= 0.80: {needed.status}, {needed.rows} [{needed.low}, {needed.high}]")


if __name__ == "__main__":
    main()
