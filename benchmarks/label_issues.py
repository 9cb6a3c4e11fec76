"""Benchmark: ``find_label_issues`` on the demo churn data, against the planted label flips.

Reports, for ``make_churn(rows, random_state=seed)`` (target ``churned``; the identifier and
the leaking ``cancellation_fee_charged`` are dropped, the free-text complaint and the signup
date are left for the default model to handle):

* precision and recall of ``is_issue`` against the sidecar's ``flipped_labels`` (target >= 0.8
  each), and the precision of the top of the ranking;
* the *oracle ceiling*: the same figures for the Bayes-optimal detector that knows each row's
  true churn probability from the generator. No method that sees only the features can beat
  it, so it says how much of the target is reachable at all;
* detection time against ``sklearn.model_selection.cross_val_predict(method="predict_proba")``
  with the same model and folds, alternating in one process, best of ``--repeat``; the ratio
  target is <= 1.2.

    python benchmarks/label_issues.py --rows 20000 --seed 42 --repeat 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUALITY_TARGET = 0.8
TIME_TARGET = 1.2


def _demo_with_true_probability(rows: int, seed: int) -> tuple[Any, np.ndarray | None]:
    """The demo, plus each row's churn probability before noise when the generator exposes it.

    The generator does not return the probability, so this listens to what its clean-outcome
    function returns (read-only; the data are unchanged). If the generator changes, the oracle
    is skipped rather than guessed.
    """
    import mlcore.data.synthetic as synthetic

    captured: list[np.ndarray] = []
    original = getattr(synthetic, "_churn_outcome", None)

    def listening(*args: Any, **kwargs: Any) -> Any:
        outcome, probability = original(*args, **kwargs)  # type: ignore[misc]
        captured.append(np.asarray(probability, dtype=np.float64).copy())
        return outcome, probability

    if original is not None:
        synthetic._churn_outcome = listening  # type: ignore[attr-defined]
    try:
        demo = synthetic.make_churn(rows, random_state=seed)
    finally:
        if original is not None:
            synthetic._churn_outcome = original  # type: ignore[attr-defined]
    if not captured:
        return demo, None
    frame = demo.current
    ids = frame[demo.problems.identifier_column]
    copies = ids.duplicated().to_numpy()  # planted duplicates come after their original
    base = captured[0]
    if len(base) != int((~copies).sum()):
        return demo, None
    probability = np.empty(len(frame))
    probability[~copies] = base
    by_id = dict(zip(ids[~copies], base, strict=True))
    probability[copies] = [by_id[i] for i in ids[copies]]
    return demo, probability


def _precision_recall(flagged: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = int((flagged & truth).sum())
    return hits / max(int(flagged.sum()), 1), hits / max(int(truth.sum()), 1)


def _curve(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(truth[order])
    return hits / np.arange(1, len(truth) + 1), hits / truth.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()

    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from mlcore.data.labeling import default_model, find_label_issues, label_quality_summary

    demo, true_probability = _demo_with_true_probability(args.rows, args.seed)
    problems = demo.problems
    frame = demo.current
    y = frame[problems.target]
    X = frame.drop(columns=[problems.target, problems.identifier_column, problems.leaky_column])
    flipped = np.zeros(len(frame), dtype=bool)
    flipped[problems.flipped_labels] = True

    model = default_model(X, random_state=0)
    splitter = StratifiedKFold(args.cv, shuffle=True, random_state=0)
    calls: list[float] = []
    times: dict[str, list[float]] = {"cross_val_predict": [], "find_label_issues": []}
    issues = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        cross_val_predict(model, X, y, cv=splitter, method="predict_proba", n_jobs=args.n_jobs)
        times["cross_val_predict"].append(time.perf_counter() - start)
        start = time.perf_counter()
        issues = find_label_issues(
            X, y, cv=args.cv, random_state=0, n_jobs=args.n_jobs, progress=lambda share, key: calls.append(share)
        )
        times["find_label_issues"].append(time.perf_counter() - start)
    assert issues is not None

    flagged = issues.is_issue.to_numpy()
    precision, recall = _precision_recall(flagged, flipped)
    suspicion = issues.ranked["score"].reindex(X.index).to_numpy()
    ranked_precision, _ = _curve(suspicion, flipped)
    n_flipped = int(flipped.sum())
    print(f"demo: {len(frame)} rows, seed {args.seed}, {n_flipped} flipped labels ({n_flipped / len(frame):.1%})")
    print(
        f"flagged {issues.n_issues} rows: precision {precision:.3f}, recall {recall:.3f}  (target >= {QUALITY_TARGET})"
    )
    for k in (250, 500, n_flipped):
        print(f"  precision of the top {k} ranked rows: {ranked_precision[k - 1]:.3f}")
    print("estimated noise rate per class:", {str(c): round(float(v), 3) for c, v in issues.noise_rate.items()})
    observed_flip_share = {str(c): round(float(flipped[(y == c).to_numpy()].mean()), 3) for c in issues.classes}
    print("true share of flipped labels per given class:", observed_flip_share)
    print(label_quality_summary(issues).to_string())

    if true_probability is None:
        print("oracle ceiling: unavailable (the generator no longer exposes the churn probability)")
    else:
        rate = n_flipped / len(frame)
        given = y.to_numpy()
        p = true_probability
        # P(flipped | x, given label), with flips uniform at random: the best possible ranking.
        posterior = np.where(
            given == 1, rate * (1 - p) / (rate * (1 - p) + (1 - rate) * p), rate * p / (rate * p + (1 - rate) * (1 - p))
        )
        oracle_precision, oracle_recall = _curve(posterior, flipped)
        at_recall = oracle_precision[np.searchsorted(oracle_recall, QUALITY_TARGET)]
        at_precision = oracle_recall[oracle_precision >= QUALITY_TARGET].max(initial=0.0)
        same_count = issues.n_issues - 1
        f1 = 2 * oracle_precision * oracle_recall / np.maximum(oracle_precision + oracle_recall, 1e-12)
        best = int(np.argmax(f1))
        print("oracle ceiling (knows each row's true churn probability):")
        print(f"  best precision at recall {QUALITY_TARGET}: {at_recall:.3f}")
        print(f"  best recall at precision {QUALITY_TARGET}: {at_precision:.3f}")
        print(
            f"  flagging as many rows as we do ({issues.n_issues}): precision {oracle_precision[same_count]:.3f}, "
            f"recall {oracle_recall[same_count]:.3f}"
        )
        print(
            f"  best F1 {f1[best]:.3f} at {best + 1} rows (precision {oracle_precision[best]:.3f}, "
            f"recall {oracle_recall[best]:.3f})"
        )
        print(f"  precision of the top {n_flipped}: {oracle_precision[n_flipped - 1]:.3f}")

    best_sklearn = min(times["cross_val_predict"])
    best_ours = min(times["find_label_issues"])
    ratio = best_ours / best_sklearn
    print(f"cross_val_predict(predict_proba): best {best_sklearn:.2f} s of {args.repeat}")
    print(f"find_label_issues:                best {best_ours:.2f} s of {args.repeat}  ({len(calls)} progress calls)")
    print(f"time ratio: {ratio:.2f}  (target <= {TIME_TARGET}: {'met' if ratio <= TIME_TARGET else 'NOT met'})")
    quality_met = precision >= QUALITY_TARGET and recall >= QUALITY_TARGET
    print(f"quality target (precision and recall >= {QUALITY_TARGET}): {'met' if quality_met else 'NOT met'}")


if __name__ == "__main__":
    main()
