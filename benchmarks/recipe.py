"""Benchmark: applying a six-step preparation recipe versus the equivalent scikit-learn ``Pipeline``.

The recipe mixes row and feature steps, as a user would build it:

1. ``impute_rows`` median (row step, numeric columns)
2. ``outliers`` IQR fences, clip (row step, numeric columns)
3. ``encode`` one-hot (feature step, two category columns)
4. ``scale`` standard (feature step, numeric columns)
5. ``log`` signed log1p (feature step, numeric columns)
6. ``select_variance`` threshold 0 (feature step, every numeric column)

Ciclo's path is :func:`apply_row_steps` (with its report) followed by ``build_feature_pipeline(...).fit_transform``
(frames in, frames out). The reference does the same work as one scikit-learn ``Pipeline`` on NumPy arrays:
``ColumnTransformer`` (median ``SimpleImputer`` -> an IQR clipper (sklearn has none: six lines of NumPy) ->
``StandardScaler`` -> signed-log ``FunctionTransformer``; ``OneHotEncoder``) -> ``VarianceThreshold``.
Both use the same one-hot settings (at most 30 categories, rare and unseen ones grouped) and both outputs are
checked to be equal. The two run alternately in the same process; the best wall time of ``--repeat`` runs is
compared (the median CPU time is printed too: steadier when other processes share the machine). The target
is <= 1.3.

    python benchmarks/recipe.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TIME_TARGET = 1.3
NUMERIC = ["age", "income", "balance", "calls", "minutes"]
CATEGORIES = ["plan", "region"]


def make_data(rows: int, seed: int = 0):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "age": rng.normal(45, 12, rows).round(),
            "income": rng.lognormal(10, 0.8, rows),
            "balance": rng.normal(0, 1000, rows),
            "calls": rng.poisson(3, rows).astype(float),
            "minutes": rng.gamma(2.0, 30.0, rows),
            "plan": rng.choice(np.array(["basic", "plus", "pro", "family", "student", "business"], dtype=object), rows),
            "region": rng.choice(np.array([f"region {i}" for i in range(12)], dtype=object), rows),
            "churned": rng.integers(0, 2, rows),
        }
    )
    for column in NUMERIC:
        gaps = rng.random(rows) < 0.05
        frame.loc[gaps, column] = np.nan
        spikes = rng.random(rows) < 0.01
        frame.loc[spikes, column] = frame[column].abs().max() * 10
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from mlcore.data.prepare.recipe import Recipe, apply_row_steps, build_feature_pipeline, make_step

    class IQRClip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
        def fit(self, X, y=None):  # type: ignore[no-untyped-def]
            self.n_features_in_ = X.shape[1]
            q1, q3 = np.nanquantile(X, [0.25, 0.75], axis=0)
            self.low_, self.high_ = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
            return self

        def transform(self, X):  # type: ignore[no-untyped-def]
            return np.clip(X, self.low_, self.high_)

    def signed_log(X):  # type: ignore[no-untyped-def]
        return np.sign(X) * np.log1p(np.abs(X))

    frame = make_data(args.rows)
    roles = {c: "numeric" for c in NUMERIC} | {c: "categorical" for c in CATEGORIES}
    roles |= {"customer_id": "identifier", "churned": "categorical"}
    recipe = Recipe(
        "benchmark",
        target="churned",
        columns=roles,
        steps=(
            make_step("impute_rows", columns=NUMERIC, strategy="median"),
            make_step("outliers", columns=NUMERIC, method="iqr", action="clip"),
            make_step("encode", columns=CATEGORIES, method="onehot"),
            make_step("scale", columns=NUMERIC),
            make_step("log", columns=NUMERIC),
            make_step("select_variance"),
        ),
    )
    reference = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        (
                            "numeric",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="median")),
                                    ("clip", IQRClip()),
                                    ("scale", StandardScaler()),
                                    ("log", FunctionTransformer(signed_log, feature_names_out="one-to-one")),
                                ]
                            ),
                            NUMERIC,
                        ),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False),
                            CATEGORIES,
                        ),
                    ]
                ),
            ),
            ("select", VarianceThreshold(0.0)),
        ]
    )
    y = frame["churned"]
    X = frame.drop(columns=["churned"])

    def run_ciclo():  # type: ignore[no-untyped-def]
        rows, report = apply_row_steps(frame, recipe, roles=roles)
        features = build_feature_pipeline(recipe, roles=report.roles)
        return features.fit_transform(rows.drop(columns=["churned"]), rows["churned"])

    def run_sklearn():  # type: ignore[no-untyped-def]
        return reference.fit_transform(X, y)

    ours, theirs = run_ciclo(), run_sklearn()
    names = [str(n).split("__", 1)[1] for n in reference.get_feature_names_out()]
    assert sorted(names) == sorted(c for c in ours.columns if c != "customer_id"), (names, list(ours.columns))
    assert np.allclose(ours[names].to_numpy(dtype=float), theirs), "the two paths give different values"

    wall: dict[str, list[float]] = {"ciclo": [], "sklearn": []}
    cpu: dict[str, list[float]] = {"ciclo": [], "sklearn": []}
    for _ in range(args.repeat):
        for name, run in (("ciclo", run_ciclo), ("sklearn", run_sklearn)):
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    best = {name: min(values) for name, values in wall.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    ratio = best["ciclo"] / best["sklearn"]
    cpu_ratio = median_cpu["ciclo"] / median_cpu["sklearn"]
    print(f"rows: {args.rows:,}  output: {theirs.shape[1]} columns  repeats: {args.repeat}")
    for name, label in (("ciclo", "ciclo recipe (row steps + feature pipeline)"), ("sklearn", "scikit-learn Pipeline")):
        runs = ", ".join(f"{v:.2f}" for v in wall[name])
        print(f"{label:45s} best wall {best[name]:.2f} s  median CPU {median_cpu[name]:.2f} s  (wall: {runs})")
    verdict = "OK" if ratio <= TIME_TARGET else "ABOVE TARGET"
    print(f"ratio (best wall time): {ratio:.2f}x (target <= {TIME_TARGET}x) {verdict}")
    print(f"ratio (median CPU time, steadier on a busy machine): {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
