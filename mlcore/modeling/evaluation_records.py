"""Evaluation records: comparing stored runs, the ``evaluate`` job (out-of-fold predictions, the locked test
set, stress tests, speed), decision thresholds, evaluation settings, deploy decisions, and the evaluation
report and model card built from what was stored.

The computations live in :mod:`mlcore.modeling.evaluation`, :mod:`mlcore.modeling.stress` and
:mod:`mlcore.modeling.decision`; this module reads stored runs and models, runs the slow parts as a job,
stores what they produce (one transaction at the end, artifacts keyed by candidate, so pages never
recompute predictions) and records who did what. Figures for the pages are built here too.

Rows are identified by their position in the run's dataset version, as in :mod:`mlcore.modeling.tracking`.
"""

from __future__ import annotations

import functools
import json
import math
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from mlcore.artifacts import ArtifactRef, ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.versions import VersionSummary, get_version, list_versions, read_version
from mlcore.errors import ConflictError, InputError, MLCoreError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import ACTIVE, JobContext, job_kind
from mlcore.modeling.decision import (
    CriterionCheck,
    DeployChecks,
    DeployDecision,
    EvaluationReportData,
    ModelCardSections,
    check_criteria,
    make_deploy_decision,
    render_card_html,
    render_card_markdown,
    render_report_html,
    render_report_markdown,
)
from mlcore.modeling.evaluation import (
    CandidateFolds,
    Comparability,
    Leaderboard,
    PairedComparison,
    Predictions,
    RunDescriptor,
    ThresholdChoice,
    ThresholdMetrics,
    calibration_curve_frame,
    check_comparable,
    compare_top,
    confusion_frame,
    cumulative_gains_frame,
    error_by_range,
    folds_signature,
    leaderboard,
    metrics_at_threshold,
    minimum_cost_threshold,
    precision_recall_frame,
    predict_for_evaluation,
    regression_points,
    roc_curve_frame,
    score_predictions,
    threshold_for_constraint,
    threshold_table,
)
from mlcore.modeling.stress import (
    FairnessReport,
    PerformanceReport,
    RobustnessResult,
    SliceReport,
    VersionEvaluation,
    evaluate_on_frame,
    fairness_report,
    measure_performance,
    robustness_suite,
    slice_performance,
)

# The rows a run trained on are rebuilt exactly as training built them (same labelled rows, same
# order, same folds), so tracking's and training's helpers are shared rather than copied.
from mlcore.modeling.tracking import (
    CandidateRecord,
    ModelVersionRecord,
    RunRecord,
    _labelled,
    _training_rows,
    get_candidate,
    list_registry,
    load_model,
    metric_text,
    read_test_rows,
    run_detail,
    training_runs,
)
from mlcore.modeling.training import METRICS, _group_values, _order_values, make_splitter
from mlcore.planning.canvas import Canvas, metric_direction
from mlcore.planning.records import get_canvas, success_criteria
from mlcore.store.engine import session_scope
from mlcore.store.models import Job, User, utcnow
from mlcore.store.models_evaluation import (
    CandidateEvaluation,
    DecisionThreshold,
    EvaluationSettings,
    HeldOutUse,
    ModelDeployDecision,
)
from mlcore.store.models_modeling import ModelVersion, RegisteredModel, RunCandidate

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "CURVE_KINDS",
    "DEFAULT_THRESHOLD",
    "EVALUATION_KINDS",
    "MAX_SENSITIVE_COLUMNS",
    "MAX_SLICE_COLUMNS",
    "PERFORMANCE_SIZES",
    "HELD_OUT_COLUMNS",
    "THRESHOLD_SOURCES",
    "CandidateOption",
    "DecisionContext",
    "DecisionRecord",
    "EvaluationRecord",
    "FairnessView",
    "HeldOutUseRecord",
    "RunComparison",
    "SettingsRecord",
    "StoredPredictions",
    "StressResult",
    "ThresholdRecord",
    "candidate_label",
    "candidate_options",
    "checks_frame",
    "compare_runs",
    "comparison_metrics",
    "comparisons_frame",
    "confusion_figure",
    "curve_figure",
    "decision_context",
    "decisions_frame",
    "deploy_decisions",
    "error_range_figure",
    "evaluate_job",
    "EvaluationDocuments",
    "evaluation_card_sections",
    "evaluation_documents",
    "evaluation_report",
    "evaluation_report_data",
    "fairness_figure",
    "fairness_for",
    "fairness_frame",
    "find_threshold",
    "fold_figure",
    "get_settings",
    "get_threshold",
    "held_out_uses",
    "held_out_uses_frame",
    "latest_evaluations",
    "leaderboard_frame",
    "model_card",
    "other_version_choices",
    "other_version_frame",
    "performance_frame",
    "performance_sizes",
    "predicted_actual_figure",
    "previous_uses",
    "project_costs",
    "read_performance",
    "read_predictions",
    "read_stress",
    "record_deploy_decision",
    "residuals_figure",
    "robustness_figure",
    "robustness_frame",
    "save_evaluation_settings",
    "save_threshold",
    "slice_columns",
    "slices_frame",
    "submit_evaluation",
    "held_out_results_frame",
    "threshold_curve_figure",
    "threshold_for_model_version",
    "threshold_metrics",
    "threshold_metrics_frame",
]

EVALUATION_KINDS: tuple[str, ...] = ("oof", "test", "stress", "performance")
"""What the ``evaluate`` job computes: ``oof`` out-of-fold predictions on the run's own folds; ``test``
predictions on the locked test rows (a recorded use of the test set); ``stress`` robustness, slices and
another dataset version; ``performance`` latency, throughput, size and memory."""

PERFORMANCE_SIZES: tuple[int, ...] = (1_000, 10_000, 100_000)
"""Batch sizes timed by the speed test (cut to ``max_rows`` and to the cell limit of the settings)."""

THRESHOLD_SOURCES: tuple[str, ...] = ("manual", "min_cost", "constraint")
HELD_OUT_COLUMNS: tuple[str, ...] = ("candidate", "candidate_id", "rows", "use_number", "threshold")
"""The first columns of :func:`held_out_results_frame`; one column per metric follows."""
MAX_SENSITIVE_COLUMNS = 20
MAX_SLICE_COLUMNS = 10
MAX_CANDIDATES = 50
MAX_NAME = 300
DEFAULT_THRESHOLD = 0.5
_BASELINE = "dummy"
_SAVE_ATTEMPTS = 4

Kind = Literal["oof", "test", "stress", "performance"]


# --------------------------------------------------------------------------- small helpers


def _t(key: str, lang: str, **params: Any) -> str:
    return translate(key, lang, **params)


def candidate_label(family: str, run_id: int, *, lang: str = "en") -> str:
    """How a candidate is named on the pages: ``Random forest · run 3``.

    Examples
    --------
    >>> candidate_label("random_forest", 3, lang="es")
    'Bosque aleatorio · ejecución 3'
    """
    return _t("evalpage.candidate_label", lang, family=_t(f"modeling.family.{family}", lang), run=run_id)


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.name) if user is not None else ""


def _json_safe(value: Any) -> Any:
    """Plain JSON values (NumPy scalars turned into Python, NaN into None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in values.items():
        try:
            out[str(name)] = float(value) if value is not None else math.nan
        except (TypeError, ValueError):
            out[str(name)] = math.nan
    return out


def _column_name(value: Any) -> str:
    """A column name as typed (inner spaces kept): text, not empty, no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("evalpage.settings.bad_column", column=str(value)[:80])
    text = value.strip()
    if len(text) > MAX_NAME or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InputError("evalpage.settings.bad_column", column=text[:80])
    return text


def _candidate_ids(values: Any) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise InputError("evalpage.no_candidates")
    out: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InputError("evalpage.no_candidates")
        if int(value) not in out:
            out.append(int(value))
    if len(out) > MAX_CANDIDATES:
        raise InputError("evalpage.too_many_candidates", count=len(out), maximum=MAX_CANDIDATES)
    return out


def _lineage_roots(versions: Sequence[VersionSummary]) -> dict[int, int]:
    """Version id -> the id of the version its lineage starts from (the imported one)."""
    parents = {v.id: v.parent_id for v in versions}
    roots: dict[int, int] = {}
    for version in versions:
        current, seen = version.id, set()
        while parents.get(current) is not None and current not in seen:
            seen.add(current)
            current = int(parents[current])  # type: ignore[arg-type]
        roots[version.id] = current
    return roots


# --------------------------------------------------------------------------- candidates to choose from


@dataclass(frozen=True)
class CandidateOption:
    """A stored candidate as the evaluation pages list it.

    Attributes
    ----------
    id, run_id : int
    family, label : str
        ``label`` is :func:`candidate_label` in the language asked for.
    target, task_type : str
    version_id : int
    version_label : str
    metric : str
        The run's first metric; ``mean``/``std`` its cross-validated value.
    mean, std : float
    registered : tuple of str
        Registered versions of this candidate (``churn@2``).
    """

    id: int
    run_id: int
    family: str
    label: str
    target: str
    task_type: str
    version_id: int
    version_label: str
    metric: str
    mean: float
    std: float
    registered: tuple[str, ...]

    @property
    def is_baseline(self) -> bool:
        return self.family == _BASELINE


def candidate_options(*, session: Session, project_id: int, lang: str = "en") -> list[CandidateOption]:
    """Every candidate of the project's runs, newest run first, in training order within a run."""
    runs = {r.id: r for r in training_runs(session=session, project_id=project_id)}
    if not runs:
        return []
    rows = session.exec(
        select(RunCandidate)
        .where(col(RunCandidate.run_id).in_(list(runs)))
        .order_by(col(RunCandidate.run_id).desc(), col(RunCandidate.position))
    ).all()
    refs: dict[int, list[str]] = {}
    for model in list_registry(session=session, project_id=project_id):
        for version in model.versions:
            refs.setdefault(version.candidate_id, []).append(version.ref)
    out = []
    for row in rows:
        run = runs[row.run_id]
        metric = run.metrics[0] if run.metrics else ""
        out.append(
            CandidateOption(
                id=row.id or 0,
                run_id=row.run_id,
                family=row.family,
                label=candidate_label(row.family, row.run_id, lang=lang),
                target=run.target,
                task_type=run.task_type,
                version_id=run.version_id,
                version_label=run.version_label,
                metric=metric,
                mean=_floats(row.mean).get(metric, math.nan),
                std=_floats(row.std).get(metric, math.nan),
                registered=tuple(sorted(refs.get(row.id or 0, ()))),
            )
        )
    return out


def _candidate_and_run(session: Session, project_id: int, candidate_id: int) -> tuple[CandidateRecord, RunRecord]:
    candidate = get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    run = run_detail(session=session, project_id=project_id, run_id=candidate.run_id).run
    return candidate, run


# --------------------------------------------------------------------------- comparing runs


@dataclass(frozen=True, eq=False)
class RunComparison:
    """Candidates of one or several runs ranked together, and the top ones compared fold by fold.

    Attributes
    ----------
    runs : tuple of RunRecord
    board : Leaderboard
        Candidate names are :func:`candidate_label`.
    comparability : Comparability
        ``paired`` when every run used the same dataset version and folds (the statistical test needs it).
    comparisons : tuple of PairedComparison
        The best candidate against the next ones and the baseline (empty when not paired or not possible).
    note_key : str or None
        Why there is no statistical comparison (with ``note_params``), when there is none.
    candidate_ids : mapping of str to int
        Leaderboard name -> candidate id.
    candidate_runs : mapping of str to int
        Leaderboard name -> run id.
    metrics : tuple of str
        The metrics every run computed (choices for the ranking metric).
    """

    runs: tuple[RunRecord, ...]
    board: Leaderboard
    comparability: Comparability
    comparisons: tuple[PairedComparison, ...]
    note_key: str | None
    note_params: Mapping[str, Any]
    candidate_ids: Mapping[str, int]
    candidate_runs: Mapping[str, int]
    metrics: tuple[str, ...]

    def note(self, lang: str = "en") -> str:
        """Why the top candidates were not compared statistically ("" when they were)."""
        return "" if self.note_key is None else _t(self.note_key, lang, **self.note_params)


def _run_name(run_id: int, lang: str) -> str:
    return _t("evalpage.run_name", lang, id=run_id)


def compare_runs(
    *,
    session: Session,
    project_id: int,
    run_ids: Sequence[int],
    metric: str | None = None,
    lang: str = "en",
    top: int = 3,
    alpha: float = 0.05,
) -> RunComparison:
    """Rank the candidates of ``run_ids`` together and compare the best with the next ones fold by fold.

    Runs that predict another target, another kind of task or learn from data of another lineage are
    refused with the reason. Runs on different versions of one lineage, or on other folds, are ranked
    but not tested statistically (the comparison says why).

    Parameters
    ----------
    session
    project_id : int
    run_ids : sequence of int
    metric : str, optional
        Ranking metric (default: the canvas metric if every run computed it, else the first run's first).
    lang : str
        Language of candidate names and of the reasons.
    top : int, default 3
        Candidates compared with the best (plus the baseline).
    alpha : float, default 0.05

    Raises
    ------
    InputError
        ``evaluation.compare.no_runs``, ``evaluation.compare.different_task``,
        ``evaluation.compare.different_target``, ``evaluation.compare.different_lineage``,
        ``evalpage.compare.metric_not_shared``.
    NotFound
        ``tracking.run_not_found``.
    """
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if not ids:
        raise InputError("evaluation.compare.no_runs")
    details = [run_detail(session=session, project_id=project_id, run_id=r) for r in ids]
    roots = _lineage_roots(list_versions(session=session, project_id=project_id))
    descriptors = [
        RunDescriptor(
            run_id=_run_name(d.run.id, lang),
            target=d.run.target,
            task_type=d.run.task_type,
            dataset_version_id=str(d.run.version_id),
            lineage_root=str(roots.get(d.run.version_id, d.run.version_id)),
            folds_signature=folds_signature(d.run.run_config),
        )
        for d in details
    ]
    comparability = check_comparable(descriptors)
    shared = list(comparison_metrics([d.run for d in details]))
    if metric is None:
        canvas = get_canvas(session=session, project_id=project_id).canvas
        metric = canvas.metric if canvas.metric in shared else (shared[0] if shared else None)
    if metric is None or metric not in shared:
        raise InputError(
            "evalpage.compare.metric_not_shared", metric=str(metric)[:40], choices=", ".join(shared) or "—"
        )
    items: list[CandidateFolds] = []
    names: dict[str, int] = {}
    name_runs: dict[str, int] = {}
    for detail in details:
        for c in detail.candidates:
            name = candidate_label(c.family, c.run_id, lang=lang)
            folds = {m: tuple(float(f.get(m, math.nan)) for f in c.fold_metrics) for m in shared}
            items.append(
                CandidateFolds(
                    name=name,
                    family=c.family,
                    folds=folds,
                    train_rows=tuple(int(f.get("train_rows", 0)) for f in c.fold_metrics),
                    test_rows=tuple(int(f.get("test_rows", 0)) for f in c.fold_metrics),
                )
            )
            names[name] = c.id
            name_runs[name] = c.run_id
    board = leaderboard(items, metric=metric)
    comparisons: tuple[PairedComparison, ...] = ()
    note_key: str | None = None
    note_params: dict[str, Any] = {}
    if not comparability.paired:
        note_key, note_params = comparability.reason_key, dict(comparability.params)
    elif len(board.table) < 2:
        note_key = "evalpage.compare.one_candidate"
    else:
        try:
            comparisons = compare_top(board, top=max(2, top), alpha=alpha)
        except InputError as exc:  # one fold (hold-out), or rows per fold unknown
            note_key, note_params = exc.key, dict(exc.params)
    return RunComparison(
        runs=tuple(d.run for d in details),
        board=board,
        comparability=comparability,
        comparisons=comparisons,
        note_key=note_key,
        note_params=note_params,
        candidate_ids=names,
        candidate_runs=name_runs,
        metrics=tuple(board.metrics),
    )


def comparison_metrics(runs: Sequence[RunRecord]) -> tuple[str, ...]:
    """The metrics every one of ``runs`` computed, in the first run's order (the ranking metric's choices).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> comparison_metrics([R(metrics=("roc_auc", "f1")), R(metrics=("f1", "recall"))])
    ('f1',)
    """
    if not runs:
        return ()
    return tuple(m for m in runs[0].metrics if all(m in r.metrics for r in runs))


def leaderboard_frame(comparison: RunComparison, *, lang: str = "en") -> pd.DataFrame:
    """The leaderboard to show: ``rank``, ``candidate``, ``candidate_id``, ``run_id``, ``baseline``, one
    ``mean ± std`` text column per metric (named by the metric code, ranking metric first), ``mean`` and
    ``std`` of the ranking metric as numbers, and ``margin`` over the baseline."""
    board = comparison.board
    rows = []
    for record in board.table.to_dict("records"):
        name = str(record["name"])
        candidate_id = comparison.candidate_ids.get(name, 0)
        row: dict[str, Any] = {
            "rank": int(record["rank"]),
            "candidate": name,
            "candidate_id": candidate_id,
            "run_id": comparison.candidate_runs.get(name, 0),
            "baseline": bool(record["baseline"]),
        }
        for m in board.metrics:
            row[m] = metric_text(float(record[f"{m}_mean"]), float(record[f"{m}_std"]), lang=lang)
        row["mean"] = float(record[f"{board.metric}_mean"])
        row["std"] = float(record[f"{board.metric}_std"])
        row["margin"] = float(record["margin"])
        rows.append(row)
    columns = ["rank", "candidate", "candidate_id", "run_id", "baseline", *board.metrics, "mean", "std", "margin"]
    return pd.DataFrame(rows, columns=columns)


def comparisons_frame(comparison: RunComparison, *, lang: str = "en") -> pd.DataFrame:
    """The statistical comparisons as a table: ``better``, ``worse``, ``difference``, ``p_value``,
    ``verdict`` (a sentence in ``lang``)."""
    rows = [
        {
            "better": c.better,
            "worse": c.worse,
            "difference": c.difference,
            "p_value": c.test.p_value,
            "verdict": c.verdict(lang),
        }
        for c in comparison.comparisons
    ]
    return pd.DataFrame(rows, columns=["better", "worse", "difference", "p_value", "verdict"])


def fold_figure(comparison: RunComparison, *, metric: str | None = None, lang: str = "en") -> go.Figure:
    """Per-fold scores of every candidate on ``metric`` (default: the ranking metric), best candidate on top."""
    import plotly.graph_objects as go

    board = comparison.board
    name = metric or board.metric
    if name not in board.metrics:
        raise InputError("evalpage.compare.metric_not_shared", metric=str(name)[:40], choices=", ".join(board.metrics))
    tidy = board.folds[board.folds["metric"] == name]
    figure = go.Figure()
    for candidate in reversed(list(board.table["name"])):
        values = tidy.loc[tidy["name"] == candidate, "value"].to_numpy(dtype=np.float64)
        figure.add_trace(
            go.Box(
                x=values,
                name=str(candidate),
                boxpoints="all",
                jitter=0.3,
                pointpos=0,
                orientation="h",
                marker={"size": 6},
                showlegend=False,
            )
        )
    figure.update_layout(
        xaxis_title=_t(f"planning.metric.{name}", lang),
        height=max(260, 40 * len(board.table) + 80),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
    )
    return figure


# --------------------------------------------------------------------------- stored evaluations


@dataclass(frozen=True)
class EvaluationRecord:
    """One stored result of the ``evaluate`` job (see :data:`EVALUATION_KINDS`)."""

    id: int
    candidate_id: int
    kind: str
    artifact_sha256: str
    summary: Mapping[str, Any]
    params: Mapping[str, Any]
    held_out_use_id: int | None
    job_id: int | None
    created_by: str
    created_at: datetime


def _evaluation_record(session: Session, row: CandidateEvaluation) -> EvaluationRecord:
    return EvaluationRecord(
        id=row.id or 0,
        candidate_id=row.candidate_id,
        kind=row.kind,
        artifact_sha256=row.artifact_sha256,
        summary=dict(row.summary),
        params=dict(row.params),
        held_out_use_id=row.held_out_use_id,
        job_id=row.job_id,
        created_by=_user_name(session, row.created_by_id),
        created_at=row.created_at,
    )


def latest_evaluations(
    *, session: Session, project_id: int, candidate_ids: Sequence[int], kind: str
) -> dict[int, EvaluationRecord]:
    """The newest stored result of ``kind`` for each of ``candidate_ids`` that has one."""
    if kind not in EVALUATION_KINDS:
        raise InputError("evalpage.unknown_mode", mode=str(kind)[:20], choices=", ".join(EVALUATION_KINDS))
    ids = [int(c) for c in candidate_ids]
    if not ids:
        return {}
    rows = session.exec(
        select(CandidateEvaluation)
        .where(
            CandidateEvaluation.project_id == project_id,
            CandidateEvaluation.kind == kind,
            col(CandidateEvaluation.candidate_id).in_(ids),
        )
        .order_by(col(CandidateEvaluation.id).desc())
    ).all()
    out: dict[int, EvaluationRecord] = {}
    for row in rows:
        if row.candidate_id not in out:
            out[row.candidate_id] = _evaluation_record(session, row)
    return out


@dataclass(frozen=True, eq=False)
class StoredPredictions:
    """Predictions read back from an ``oof`` or ``test`` result.

    Attributes
    ----------
    predictions : Predictions
    rows : ndarray of int
        Position of each predicted row in the run's dataset version.
    folds : ndarray of int
        The fold each row was held out in (1-based; 0 for the locked test set).
    kind : {"oof", "test"}
    """

    predictions: Predictions
    rows: npt.NDArray[np.int64]
    folds: npt.NDArray[np.int64]
    kind: str

    @property
    def binary(self) -> bool:
        """Two classes with probabilities: thresholds, curves and fairness apply."""
        p = self.predictions
        return p.task_type == "classification" and p.pos_label is not None and p.probabilities


def _predictions_table(p: Predictions, rows: npt.ArrayLike, folds: npt.ArrayLike) -> pa.Table:
    data: dict[str, Any] = {
        "row": pa.array(np.asarray(rows, dtype=np.int64)),
        "fold": pa.array(np.asarray(folds, dtype=np.int64)),
        "y_true": pa.array(list(_json_safe(list(p.y_true)))),
        "y_pred": pa.array(list(_json_safe(list(p.y_pred)))),
    }
    if p.scores is not None:
        for k in range(p.scores.shape[1]):
            data[f"score_{k}"] = pa.array(np.asarray(p.scores[:, k], dtype=np.float64))
    return pa.table(data)


def read_predictions(*, store: ArtifactStore, record: EvaluationRecord) -> StoredPredictions:
    """The predictions of an ``oof`` or ``test`` result (the file's hash is checked).

    Raises
    ------
    InputError
        ``evalpage.not_predictions`` for other kinds.
    NotFound, ArtifactCorrupted
        The stored file is missing or changed.
    """
    if record.kind not in ("oof", "test"):
        raise InputError("evalpage.not_predictions", kind=record.kind)
    frame = store.read_table(record.artifact_sha256).to_pandas()
    summary = record.summary
    classes = tuple(summary.get("classes") or ())
    score_columns = [c for c in frame.columns if str(c).startswith("score_")]
    scores = frame[score_columns].to_numpy(dtype=np.float64) if score_columns else None
    task = str(summary.get("task_type", "classification" if classes else "regression"))
    y_true = frame["y_true"].to_numpy()
    y_pred = frame["y_pred"].to_numpy()
    if task == "regression":
        y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    predictions = Predictions(
        task_type=task,
        y_true=y_true,
        y_pred=y_pred,
        scores=scores,
        classes=classes,
        pos_label=summary.get("pos_label"),
        probabilities=bool(summary.get("probabilities", False)),
    )
    return StoredPredictions(
        predictions,
        frame["row"].to_numpy(dtype=np.int64),
        frame["fold"].to_numpy(dtype=np.int64),
        record.kind,
    )


# --------------------------------------------------------------------------- figures of predictions


_CURVES: dict[str, tuple[Any, str, str]] = {
    "roc": (roc_curve_frame, "evaluation.axis.false_positive_rate", "evaluation.axis.true_positive_rate"),
    "precision_recall": (precision_recall_frame, "evaluation.axis.recall", "evaluation.axis.precision"),
    "calibration": (calibration_curve_frame, "evaluation.axis.mean_predicted", "evaluation.axis.fraction_positive"),
    "gains": (cumulative_gains_frame, "evaluation.axis.share_of_rows", "evaluation.axis.share_of_positives"),
}
CURVE_KINDS: tuple[str, ...] = tuple(_CURVES)


def curve_figure(kind: str, curves: Mapping[str, Predictions], *, lang: str = "en") -> go.Figure:
    """One curve per candidate (two classes): ``roc``, ``precision_recall``, ``calibration`` or ``gains``,
    with what a model without skill draws, dashed; the legend gives each curve's summary.

    Raises
    ------
    InputError
        ``evalpage.unknown_curve``, ``evalpage.needs_two_classes``, ``evaluation.single_class``,
        ``evaluation.needs_probabilities`` (calibration of decision values).
    """
    import plotly.graph_objects as go

    if kind not in _CURVES:
        raise InputError("evalpage.unknown_curve", kind=str(kind)[:20], choices=", ".join(_CURVES))
    function, x_key, y_key = _CURVES[kind]
    figure = go.Figure()
    reference = None
    for name, p in curves.items():
        if p.task_type != "classification" or p.pos_label is None:
            raise InputError("evalpage.needs_two_classes")
        if kind == "calibration" and not p.probabilities:
            raise InputError("evaluation.needs_probabilities")
        curve = function(p.y_true, p.positive_scores, pos_label=p.pos_label)
        reference = curve.reference
        legend = str(name)
        if curve.summary is not None and math.isfinite(curve.summary):
            legend += " · " + _t(f"evalpage.curve.{curve.summary_name}", lang, value=f"{curve.summary:.3f}")
        mode = "lines+markers" if kind == "calibration" else "lines"
        figure.add_trace(go.Scatter(x=curve.frame[curve.x], y=curve.frame[curve.y], mode=mode, name=legend))
    if reference is not None:
        x, y = reference.columns[0], reference.columns[1]
        figure.add_trace(
            go.Scatter(
                x=reference[x],
                y=reference[y],
                mode="lines",
                name=_t("evalpage.curve.chance" if kind != "calibration" else "evalpage.curve.perfect", lang),
                line={"dash": "dash", "color": "grey"},
            )
        )
    figure.update_layout(
        xaxis_title=_t(x_key, lang),
        yaxis_title=_t(y_key, lang),
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=420,
    )
    figure.update_xaxes(range=[0, 1])
    return figure


def confusion_figure(predictions: Predictions, *, threshold: float | None = None, lang: str = "en") -> go.Figure:
    """The confusion matrix as a heat map: at ``threshold`` for two classes with probabilities, else of the
    predicted labels. Cells show the count and the share of the actual class."""
    import plotly.graph_objects as go

    p = predictions
    if threshold is not None and p.pos_label is not None and p.probabilities:
        metrics = metrics_at_threshold(p.y_true, p.positive_scores, threshold, pos_label=p.pos_label)
        tidy = metrics.confusion_frame()
        negative = next(c for c in p.classes if c != p.pos_label)
        names = {
            "positive": _t("evalpage.confusion.positive", lang, label=str(p.pos_label)),
            "negative": _t("evalpage.confusion.negative", lang, label=str(negative)),
        }
        order = ["positive", "negative"]
        totals = tidy.groupby("actual")["count"].transform("sum")
        tidy = tidy.assign(share_of_actual=np.where(totals > 0, tidy["count"] / totals.where(totals > 0, 1), 0.0))
    else:
        if p.task_type != "classification":
            raise InputError("evalpage.needs_classes")
        tidy = confusion_frame(p.y_true, p.y_pred, labels=list(p.classes) or None)
        order = list(dict.fromkeys(tidy["actual"]))
        names = {v: str(v) for v in order}
    z, text = [], []
    for actual in order:
        row = tidy[tidy["actual"] == actual].set_index("predicted")
        z.append([float(row.loc[pred, "share_of_actual"]) for pred in order])
        text.append([f"{int(row.loc[pred, 'count']):,}<br>{row.loc[pred, 'share_of_actual']:.0%}" for pred in order])
    labels = [names[v] for v in order]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
        )
    )
    figure.update_layout(
        xaxis_title=_t("evalpage.confusion.predicted", lang),
        yaxis_title=_t("evalpage.confusion.actual", lang),
        yaxis={"autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=360,
    )
    return figure


def _regression(p: Predictions) -> Predictions:
    if p.task_type != "regression":
        raise InputError("evalpage.needs_regression")
    return p


def predicted_actual_figure(predictions: Predictions, *, lang: str = "en") -> go.Figure:
    """Predicted against actual values (a sample of at most 5,000 points) with the line of perfect predictions."""
    import plotly.graph_objects as go

    p = _regression(predictions)
    points = regression_points(p.y_true, p.y_pred)
    low = float(min(points["actual"].min(), points["predicted"].min()))
    high = float(max(points["actual"].max(), points["predicted"].max()))
    figure = go.Figure(
        [
            go.Scattergl(
                x=points["actual"],
                y=points["predicted"],
                mode="markers",
                marker={"size": 4, "opacity": 0.5},
                name=_t("evalpage.regression.rows", lang),
            ),
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                line={"dash": "dash", "color": "grey"},
                name=_t("evalpage.regression.perfect", lang),
            ),
        ]
    )
    figure.update_layout(
        xaxis_title=_t("evaluation.axis.actual", lang),
        yaxis_title=_t("evaluation.axis.predicted", lang),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=400,
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
    )
    return figure


def residuals_figure(predictions: Predictions, *, lang: str = "en") -> go.Figure:
    """Errors (actual minus predicted) against the predicted value, with the zero line."""
    import plotly.graph_objects as go

    p = _regression(predictions)
    points = regression_points(p.y_true, p.y_pred)
    figure = go.Figure(
        go.Scattergl(x=points["predicted"], y=points["residual"], mode="markers", marker={"size": 4, "opacity": 0.5})
    )
    figure.add_hline(y=0.0, line={"dash": "dash", "color": "grey"})
    figure.update_layout(
        xaxis_title=_t("evaluation.axis.predicted", lang),
        yaxis_title=_t("evaluation.axis.residual", lang),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=400,
    )
    return figure


def error_range_figure(predictions: Predictions, *, lang: str = "en", n_bins: int = 10) -> go.Figure:
    """Mean absolute error and mean error per range of the actual value (equal-count ranges)."""
    import plotly.graph_objects as go

    p = _regression(predictions)
    table = error_by_range(p.y_true, p.y_pred, n_bins=n_bins)
    labels = [f"{lo:.4g} – {hi:.4g}" for lo, hi in zip(table["lower"], table["upper"], strict=True)]
    figure = go.Figure(
        [
            go.Bar(x=labels, y=table["mae"], name=_t("planning.metric.mae", lang)),
            go.Bar(x=labels, y=table["mean_residual"], name=_t("evalpage.regression.mean_residual", lang)),
        ]
    )
    figure.update_layout(
        barmode="group",
        xaxis_title=_t("evalpage.regression.range", lang),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=380,
        legend={"orientation": "h", "yanchor": "top", "y": -0.3},
    )
    return figure


# --------------------------------------------------------------------------- threshold and cost


def project_costs(*, session: Session, project_id: int) -> tuple[float, float] | None:
    """The canvas's cost of a false positive and of a false negative, or None while either is empty.

    The signed-off canvas counts once there is a gate decision; before, the draft canvas."""
    canvas, _ = _canvas(session, project_id)
    if canvas.cost_false_positive is None or canvas.cost_false_negative is None:
        return None
    return float(canvas.cost_false_positive), float(canvas.cost_false_negative)


def _canvas(session: Session, project_id: int) -> tuple[Canvas, str]:
    criteria = success_criteria(session=session, project_id=project_id)
    if criteria is not None:
        return criteria.canvas, "signed"
    return get_canvas(session=session, project_id=project_id).canvas, "draft"


def _binary(p: Predictions) -> Predictions:
    if p.task_type != "classification" or p.pos_label is None:
        raise InputError("evalpage.needs_two_classes")
    if not p.probabilities:
        raise InputError("evaluation.needs_probabilities")
    return p


def threshold_metrics(
    predictions: Predictions, threshold: float, *, costs: tuple[float, float] | None = None
) -> ThresholdMetrics:
    """Counts, rates and (with costs) the expected cost of flagging rows scoring at least ``threshold``.

    Raises
    ------
    InputError
        ``evalpage.needs_two_classes``, ``evaluation.needs_probabilities``, and those of
        :func:`~mlcore.modeling.evaluation.metrics_at_threshold`.
    """
    p = _binary(predictions)
    fp, fn = costs if costs is not None else (None, None)
    return metrics_at_threshold(
        p.y_true, p.positive_scores, threshold, pos_label=p.pos_label, cost_false_positive=fp, cost_false_negative=fn
    )


def threshold_metrics_frame(metrics: ThresholdMetrics, *, lang: str = "en") -> pd.DataFrame:
    """``measure`` (translated) and ``value`` for the threshold's metrics, the counts and the cost."""
    names = ["precision", "recall", "f1", "accuracy", "specificity", "selection_rate", "false_positive_rate"]
    rows = [(_t(f"evaluation.measure.{n}", lang), float(getattr(metrics, n))) for n in names]
    rows += [
        (_t("evalpage.count.true_positives", lang), float(metrics.true_positives)),
        (_t("evalpage.count.false_positives", lang), float(metrics.false_positives)),
        (_t("evalpage.count.false_negatives", lang), float(metrics.false_negatives)),
        (_t("evalpage.count.true_negatives", lang), float(metrics.true_negatives)),
    ]
    if metrics.cost is not None:
        rows.append((_t("evaluation.measure.cost", lang), float(metrics.cost)))
        rows.append((_t("evaluation.measure.cost_per_row", lang), float(metrics.cost_per_row or 0.0)))
    return pd.DataFrame(rows, columns=["measure", "value"])


def threshold_curve_figure(
    predictions: Predictions,
    *,
    threshold: float | None = None,
    costs: tuple[float, float] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Precision, recall and F1 against the threshold, the cost per row on a second axis when costs are
    known, and the chosen threshold as a vertical line."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    p = _binary(predictions)
    fp, fn = costs if costs is not None else (None, None)
    table = threshold_table(
        p.y_true,
        p.positive_scores,
        pos_label=p.pos_label,
        cost_false_positive=fp,
        cost_false_negative=fn,
        max_rows=400,
    )
    figure = make_subplots(specs=[[{"secondary_y": costs is not None}]])
    for name in ("precision", "recall", "f1"):
        figure.add_trace(
            go.Scatter(x=table["threshold"], y=table[name], mode="lines", name=_t(f"evaluation.measure.{name}", lang)),
            secondary_y=False,
        )
    if costs is not None:
        figure.add_trace(
            go.Scatter(
                x=table["threshold"],
                y=table["cost_per_row"],
                mode="lines",
                name=_t("evaluation.measure.cost_per_row", lang),
                line={"dash": "dot", "color": "black"},
            ),
            secondary_y=True,
        )
        figure.update_yaxes(title_text=_t("evaluation.measure.cost_per_row", lang), secondary_y=True)
    if threshold is not None:
        figure.add_vline(x=float(threshold), line={"color": "red", "dash": "dash"})
    figure.update_xaxes(title_text=_t("evaluation.measure.threshold", lang), range=[0, 1])
    figure.update_yaxes(range=[0, 1.02], secondary_y=False)
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=380,
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
    )
    return figure


def find_threshold(
    predictions: Predictions,
    *,
    goal: Literal["min_cost", "constraint"],
    costs: tuple[float, float] | None = None,
    constraint: str = "precision",
    bound: float = 0.5,
    maximize: str = "recall",
) -> ThresholdChoice:
    """The threshold with the lowest expected cost (``min_cost``, needs ``costs``), or the one maximising
    ``maximize`` while ``constraint`` stays within ``bound`` (``constraint``).

    Raises
    ------
    InputError
        ``evalpage.threshold.unknown_goal``, ``evaluation.cost.missing_in_canvas`` (no costs), and those of
        :func:`~mlcore.modeling.evaluation.minimum_cost_threshold` and
        :func:`~mlcore.modeling.evaluation.threshold_for_constraint`.
    """
    p = _binary(predictions)
    if goal == "min_cost":
        if costs is None:
            raise InputError("evaluation.cost.missing_in_canvas")
        return minimum_cost_threshold(
            p.y_true,
            p.positive_scores,
            cost_false_positive=costs[0],
            cost_false_negative=costs[1],
            pos_label=p.pos_label,
        )
    if goal == "constraint":
        return threshold_for_constraint(
            p.y_true, p.positive_scores, constraint=constraint, bound=bound, maximize=maximize, pos_label=p.pos_label
        )
    raise InputError("evalpage.threshold.unknown_goal", goal=str(goal)[:20])


@dataclass(frozen=True)
class ThresholdRecord:
    """The decision threshold saved for a candidate (used by batch scoring of its registered versions).

    ``source`` is ``manual``, ``min_cost`` or ``constraint``; ``version`` is passed back as
    ``expected_version`` to :func:`save_threshold`."""

    candidate_id: int
    threshold: float
    source: str
    details: Mapping[str, Any]
    version: int
    updated_by: str
    updated_at: datetime


def get_threshold(*, session: Session, project_id: int, candidate_id: int) -> ThresholdRecord | None:
    """The threshold saved for a candidate of the project, if any."""
    row = session.exec(
        select(DecisionThreshold).where(
            DecisionThreshold.project_id == project_id, DecisionThreshold.candidate_id == candidate_id
        )
    ).first()
    if row is None:
        return None
    session.refresh(row)
    return ThresholdRecord(
        candidate_id=row.candidate_id,
        threshold=row.threshold,
        source=row.source,
        details=dict(row.details),
        version=row.version,
        updated_by=_user_name(session, row.updated_by_id),
        updated_at=row.updated_at,
    )


def threshold_for_model_version(*, session: Session, project_id: int, model_version_id: int) -> float | None:
    """The decision threshold saved for a registered model version's candidate (None: use the model's
    own labels, or a threshold of 0.5 on the positive class's probability).

    Raises
    ------
    NotFound
        ``tracking.model_version_not_found``.
    """
    from mlcore.modeling.tracking import get_model_version

    version = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
    saved = get_threshold(session=session, project_id=project_id, candidate_id=version.candidate_id)
    return saved.threshold if saved is not None else None


def save_threshold(
    *,
    session: Session,
    actor: User,
    project_id: int,
    candidate_id: int,
    threshold: float,
    source: str = "manual",
    details: Mapping[str, Any] | None = None,
    expected_version: int = 0,
) -> ThresholdRecord:
    """Save the decision threshold of a two-class candidate (an audit event with before and after).

    Parameters
    ----------
    actor : User
        Needs ``evaluation.run`` in the project.
    candidate_id : int
    threshold : float
        In [0, 1]: rows whose positive-class probability is at least this are flagged.
    source : str
        How it was chosen (:data:`THRESHOLD_SOURCES`).
    details : mapping, optional
        What the choice was based on (costs, constraint…), kept with it.
    expected_version : int
        The saved threshold's ``version`` the form started from (0 when there was none).

    Raises
    ------
    PermissionDenied
        Without ``evaluation.run``.
    NotFound
        ``tracking.candidate_not_found``.
    InputError
        ``evaluation.threshold_out_of_range``, ``evalpage.threshold.unknown_source``,
        ``evalpage.needs_two_classes``.
    ConflictError
        ``evalpage.threshold.changed`` when someone saved another threshold meanwhile.
    """
    require(session=session, user=actor, action="evaluation.run", project_id=project_id)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
        raise InputError("evaluation.threshold_out_of_range", threshold=str(threshold)[:20])
    if source not in THRESHOLD_SOURCES:
        raise InputError(
            "evalpage.threshold.unknown_source", source=str(source)[:20], choices=", ".join(THRESHOLD_SOURCES)
        )
    candidate, run = _candidate_and_run(session, project_id, candidate_id)
    classes = run.run_config.get("positive_class")
    if run.task_type != "classification" or classes is None:
        raise InputError("evalpage.needs_two_classes")
    safe_details = _json_safe(dict(details or {}))
    if len(json.dumps(safe_details)) > 10_000:
        raise InputError("evalpage.bad_text", field="details")
    row = session.exec(select(DecisionThreshold).where(DecisionThreshold.candidate_id == candidate_id)).first()
    before = None
    if row is None:
        if expected_version != 0:
            raise ConflictError("evalpage.threshold.changed", candidate=candidate.label)
        row = DecisionThreshold(
            project_id=project_id,
            candidate_id=candidate_id,
            threshold=float(threshold),
            source=source,
            details=safe_details,
            updated_by_id=actor.id or 0,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:
            raise ConflictError("evalpage.threshold.changed", candidate=candidate.label) from exc
    else:
        session.refresh(row)
        before = {"threshold": row.threshold, "source": row.source}
        changed = session.execute(
            update(DecisionThreshold)
            .where(col(DecisionThreshold.id) == row.id, col(DecisionThreshold.version) == expected_version)
            .values(
                threshold=float(threshold),
                source=source,
                details=safe_details,
                version=expected_version + 1,
                updated_by_id=actor.id or 0,
                updated_at=utcnow(),
            )
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise ConflictError("evalpage.threshold.changed", candidate=candidate.label)
        session.flush()
    record_event(
        session=session,
        actor=actor,
        action="evaluation.threshold",
        object_type="run_candidate",
        object_id=candidate_id,
        project_id=project_id,
        before=before,
        after={"threshold": float(threshold), "source": source, "run_id": run.id, "family": candidate.family},
    )
    saved = get_threshold(session=session, project_id=project_id, candidate_id=candidate_id)
    assert saved is not None
    return saved


def _saved_threshold(session: Session, project_id: int, candidate_id: int) -> float | None:
    saved = get_threshold(session=session, project_id=project_id, candidate_id=candidate_id)
    return saved.threshold if saved is not None else None


def _at_threshold(p: Predictions, threshold: float | None) -> Predictions:
    if threshold is not None and p.pos_label is not None and p.probabilities:
        return p.at_threshold(threshold)
    return p


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SettingsRecord:
    """A project's evaluation settings (``version`` 0: never saved)."""

    sensitive_columns: tuple[str, ...]
    fairness_limit: float | None
    fairness_measure: str
    min_margin: float
    version: int
    updated_by: str
    updated_at: datetime | None


def get_settings(*, session: Session, project_id: int) -> SettingsRecord:
    """The project's evaluation settings (defaults before the first save)."""
    row = session.exec(select(EvaluationSettings).where(EvaluationSettings.project_id == project_id)).first()
    if row is None:
        return SettingsRecord((), None, "equalized_odds_difference", 0.0, 0, "", None)
    session.refresh(row)
    return SettingsRecord(
        tuple(row.sensitive_columns),
        row.fairness_limit,
        row.fairness_measure,
        row.min_margin,
        row.version,
        _user_name(session, row.updated_by_id),
        row.updated_at,
    )


def save_evaluation_settings(
    *,
    session: Session,
    actor: User,
    project_id: int,
    sensitive_columns: Sequence[str],
    fairness_limit: float | None = None,
    fairness_measure: str = "equalized_odds_difference",
    min_margin: float = 0.0,
    expected_version: int = 0,
) -> SettingsRecord:
    """Mark the sensitive columns and set the fairness limit and baseline margin the deploy decision checks.

    Parameters
    ----------
    actor : User
        Needs ``evaluation.run`` in the project (model developers and AI-ethics reviewers).
    sensitive_columns : sequence of str
        Column names (at most :data:`MAX_SENSITIVE_COLUMNS`).
    fairness_limit : float, optional
        Largest acceptable difference between groups, in [0, 1].
    fairness_measure : str
        ``demographic_parity_difference`` or ``equalized_odds_difference``.
    min_margin : float
        Smallest improvement over the baseline that counts (≥ 0, in the metric's units).
    expected_version : int

    Raises
    ------
    PermissionDenied
    InputError
        ``evalpage.settings.bad_columns``, ``evaluation.check.bad_fairness_limit``,
        ``evaluation.check.unknown_fairness_measure``, ``evaluation.check.bad_margin``.
    ConflictError
        ``evalpage.settings.changed``.
    """
    require(session=session, user=actor, action="evaluation.run", project_id=project_id)
    if isinstance(sensitive_columns, str) or not isinstance(sensitive_columns, Sequence):
        raise InputError("evalpage.settings.bad_columns", maximum=MAX_SENSITIVE_COLUMNS)
    columns: list[str] = []
    for value in sensitive_columns:
        name = _column_name(value)
        if name not in columns:
            columns.append(name)
    if len(columns) > MAX_SENSITIVE_COLUMNS:
        raise InputError("evalpage.settings.bad_columns", maximum=MAX_SENSITIVE_COLUMNS)
    # check_criteria validates the limit, the measure and the margin with its own messages
    check_criteria(Canvas(), fairness_limit=fairness_limit, fairness_measure=fairness_measure, min_margin=min_margin)
    current = get_settings(session=session, project_id=project_id)
    if current.version != expected_version:
        raise ConflictError("evalpage.settings.changed", who=current.updated_by or "?")
    values: dict[str, Any] = {
        "sensitive_columns": columns,
        "fairness_limit": None if fairness_limit is None else float(fairness_limit),
        "fairness_measure": fairness_measure,
        "min_margin": float(min_margin),
    }
    if current.version == 0:
        session.add(EvaluationSettings(project_id=project_id, updated_by_id=actor.id or 0, **values))
        try:
            session.flush()
        except IntegrityError as exc:
            raise ConflictError("evalpage.settings.changed", who="?") from exc
    else:
        changed = session.execute(
            update(EvaluationSettings)
            .where(
                col(EvaluationSettings.project_id) == project_id,
                col(EvaluationSettings.version) == expected_version,
            )
            .values(version=expected_version + 1, updated_by_id=actor.id or 0, updated_at=utcnow(), **values)
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise ConflictError("evalpage.settings.changed", who=current.updated_by or "?")
        session.flush()
    record_event(
        session=session,
        actor=actor,
        action="evaluation.settings",
        object_type="project",
        object_id=project_id,
        project_id=project_id,
        before={
            "sensitive_columns": ", ".join(current.sensitive_columns),
            "fairness_limit": current.fairness_limit,
            "fairness_measure": current.fairness_measure,
            "min_margin": current.min_margin,
        }
        if current.version
        else None,
        after={**values, "sensitive_columns": ", ".join(columns)},
    )
    return get_settings(session=session, project_id=project_id)


# --------------------------------------------------------------------------- choices for the tests


def _version_of(session: Session, project_id: int, version_id: int) -> VersionSummary:
    versions = {v.id: v for v in list_versions(session=session, project_id=project_id)}
    if version_id not in versions:
        raise NotFound("errors.version_not_found", version_id=version_id)
    return versions[version_id]


def slice_columns(*, session: Session, project_id: int, candidate_id: int) -> tuple[list[str], list[str]]:
    """Columns of the candidate's dataset version that slices and sensitive groups can use (every column
    but the target), and a default choice of slice columns (the categorical and yes/no features, at most five).

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    _, run = _candidate_and_run(session, project_id, candidate_id)
    version = _version_of(session, project_id, run.version_id)
    names = [str(c["name"]) for c in version.columns if str(c["name"]) != run.target]
    roles = run.roles
    default = [c for c in run.features if roles.get(c) in ("categorical", "boolean")][:5]
    return names, default


def other_version_choices(*, session: Session, project_id: int, candidate_id: int) -> list[VersionSummary]:
    """Dataset versions of the project (other than the one trained on) that hold the target and every
    feature of the candidate's run, newest first: what "evaluate on another version" can use."""
    _, run = _candidate_and_run(session, project_id, candidate_id)
    out = []
    for version in list_versions(session=session, project_id=project_id):
        names = {str(c["name"]) for c in version.columns}
        if version.id != run.version_id and run.target in names and set(run.features) <= names:
            out.append(version)
    return sorted(out, key=lambda v: v.id, reverse=True)


def performance_sizes(*, n_features: int, settings: Settings, max_rows: int = PERFORMANCE_SIZES[-1]) -> tuple[int, ...]:
    """The batch sizes the speed test times: :data:`PERFORMANCE_SIZES` cut to ``max_rows`` and to the
    settings' cell limit (rows × features).

    Examples
    --------
    >>> from pathlib import Path
    >>> performance_sizes(n_features=10, settings=Settings(Path("."), "sqlite://"), max_rows=5_000)
    (1000, 5000)
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InputError("evaluation.bad_count", name="max_rows", value=str(max_rows)[:20], minimum=1)
    cap = min(max_rows, max(1, settings.limits.max_cells // max(1, n_features)))
    return tuple(sorted({min(size, cap) for size in PERFORMANCE_SIZES}))


# --------------------------------------------------------------------------- the locked test set


@dataclass(frozen=True)
class HeldOutUseRecord:
    """One look at a locked test set."""

    id: int
    run_id: int
    dataset_version_id: int
    version_label: str
    test_rows_sha256: str
    use_number: int
    candidate_ids: tuple[int, ...]
    acknowledged: bool
    job_id: int | None
    created_by: str
    created_at: datetime


def _uses(session: Session, *conditions: Any) -> list[HeldOutUseRecord]:
    versions: dict[int, str] = {}
    out = []
    rows = session.exec(select(HeldOutUse).where(*conditions).order_by(col(HeldOutUse.id).desc())).all()
    for row in rows:
        if row.dataset_version_id not in versions:
            versions[row.dataset_version_id] = get_version(session=session, version_id=row.dataset_version_id).label
        out.append(
            HeldOutUseRecord(
                id=row.id or 0,
                run_id=row.run_id,
                dataset_version_id=row.dataset_version_id,
                version_label=versions[row.dataset_version_id],
                test_rows_sha256=row.test_rows_sha256,
                use_number=row.use_number,
                candidate_ids=tuple(int(c) for c in row.candidate_ids),
                acknowledged=row.acknowledged,
                job_id=row.job_id,
                created_by=_user_name(session, row.created_by_id),
                created_at=row.created_at,
            )
        )
    return out


def held_out_uses(*, session: Session, project_id: int) -> list[HeldOutUseRecord]:
    """Every look at a locked test set of the project, newest first."""
    return _uses(session, HeldOutUse.project_id == project_id)


def previous_uses(*, session: Session, project_id: int, candidate_ids: Sequence[int]) -> list[HeldOutUseRecord]:
    """Earlier looks at the test sets these candidates would be evaluated on, newest first (empty: the
    first use).

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    keys = set()
    for candidate_id in _candidate_ids(list(candidate_ids)):
        _, run = _candidate_and_run(session, project_id, candidate_id)
        keys.add((run.version_id, run.test_rows_sha256))
    found = held_out_uses(session=session, project_id=project_id)
    return [u for u in found if (u.dataset_version_id, u.test_rows_sha256) in keys]


def held_out_uses_frame(
    uses: Sequence[HeldOutUseRecord], *, labels: Mapping[int, str] | None = None, lang: str = "en"
) -> pd.DataFrame:
    """The uses of locked test sets as a table: ``when``, ``who``, ``run``, ``version``, ``use_number``,
    ``candidates`` (names from ``labels``, candidate id -> name), ``acknowledged``."""
    names = labels or {}
    rows = [
        {
            "when": u.created_at,
            "who": u.created_by,
            "run": _run_name(u.run_id, lang),
            "version": u.version_label,
            "use_number": u.use_number,
            "candidates": ", ".join(names.get(c, f"#{c}") for c in u.candidate_ids),
            "acknowledged": u.acknowledged,
        }
        for u in uses
    ]
    return pd.DataFrame(rows, columns=["when", "who", "run", "version", "use_number", "candidates", "acknowledged"])


def _metrics_for(run: RunRecord, canvas: Canvas) -> list[str]:
    names = list(run.metrics)
    for extra in (canvas.metric, canvas.secondary_metric):
        if extra and extra in METRICS and METRICS[extra].task_type == run.task_type and extra not in names:
            names.append(extra)
    return names


def held_out_results_frame(
    *, session: Session, store: ArtifactStore, project_id: int, candidate_ids: Sequence[int], lang: str = "en"
) -> pd.DataFrame:
    """The newest locked-test-set result of each candidate: ``candidate``, ``candidate_id``, ``rows``,
    ``use_number``, ``threshold`` (two classes: the saved threshold, else 0.5, at which label metrics are
    computed) and one column per metric (code)."""
    canvas, _ = _canvas(session, project_id)
    found = latest_evaluations(session=session, project_id=project_id, candidate_ids=candidate_ids, kind="test")
    rows = []
    metric_names: list[str] = []
    for candidate_id, record in found.items():
        candidate, run = _candidate_and_run(session, project_id, candidate_id)
        stored = read_predictions(store=store, record=record)
        threshold = _saved_threshold(session, project_id, candidate_id)
        names = _metrics_for(run, canvas)
        values = score_predictions(_at_threshold(stored.predictions, threshold), names)
        metric_names += [m for m in names if m not in metric_names]
        rows.append(
            {
                "candidate": candidate_label(candidate.family, candidate.run_id, lang=lang),
                "candidate_id": candidate_id,
                "rows": len(stored.predictions),
                "use_number": int(record.summary.get("use_number", 0)),
                "threshold": (DEFAULT_THRESHOLD if threshold is None else threshold) if stored.binary else None,
                **values,
            }
        )
    return pd.DataFrame(rows, columns=[*HELD_OUT_COLUMNS, *metric_names])


# --------------------------------------------------------------------------- submitting the job


def submit_evaluation(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    candidate_ids: Sequence[int],
    mode: str,
    actor_id: int,
    launch: bool = True,
    acknowledge_reuse: bool = False,
    slice_columns: Sequence[str] | None = None,
    other_version_id: int | None = None,
    max_rows: int = PERFORMANCE_SIZES[-1],
    n_calls: int = 200,
    n_repeats: int = 1,
) -> int:
    """Queue (and start) the ``evaluate`` job for some candidates; return its id.

    * ``oof`` — out-of-fold predictions: each candidate's stored configuration refitted on the training
      folds its run used, predicting the held-out fold (the folds are checked against the recorded ones);
    * ``test`` — predictions on the locked test rows (the run's baseline is added to have something to
      compare with). A test set already looked at is refused unless ``acknowledge_reuse``; every use is
      recorded (who, when, how many times);
    * ``stress`` — robustness to noise, missing, out-of-range values and unseen categories (fold models on
      their held-out folds, averaged), performance per slice of ``slice_columns`` (out-of-fold, at the
      saved threshold), and the final model on another dataset version (``other_version_id``);
    * ``performance`` — single-row latency, throughput at :func:`performance_sizes`, size, peak memory.

    Results are written in one transaction when the job ends; a cancelled or failed job leaves nothing.
    The result holds ``evaluation_ids``, ``label`` (dataset versions) and ``n_rows`` (rows evaluated).
    While a job of the same kind for the same candidates is queued or running, its id is returned instead
    of starting another (so a double click is not a second use of the test set).

    Raises
    ------
    PermissionDenied
        Without ``evaluation.run`` (``evaluation.test_set`` for ``test``) in the project.
    NotFound
        ``tracking.candidate_not_found``, ``errors.version_not_found``.
    InputError
        ``evalpage.unknown_mode``, ``evalpage.no_candidates``, ``evalpage.too_many_candidates``,
        ``evalpage.test.already_used`` (with who, when and how many times), ``evalpage.stress.bad_columns``,
        ``evalpage.stress.bad_version``, ``evaluation.bad_count``.
    """
    from mlcore.jobs import launch_job, submit_job

    if mode not in EVALUATION_KINDS:
        raise InputError("evalpage.unknown_mode", mode=str(mode)[:20], choices=", ".join(EVALUATION_KINDS))
    action = "evaluation.test_set" if mode == "test" else "evaluation.run"
    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action=action, project_id=project_id)
        ids = _candidate_ids(candidate_ids)
        running = _running_job(session, project_id, mode, ids)
        if running is not None:  # a second click while it runs (for the test set: not a second use)
            return running
        runs = {}
        for candidate_id in ids:
            _, run = _candidate_and_run(session, project_id, candidate_id)
            runs[candidate_id] = run
        params: dict[str, Any] = {"project_id": project_id, "actor_id": actor_id, "mode": mode, "candidate_ids": ids}
        if mode == "test":
            earlier = previous_uses(session=session, project_id=project_id, candidate_ids=ids)
            if earlier and not acknowledge_reuse:
                last = earlier[0]
                raise InputError(
                    "evalpage.test.already_used",
                    count=len(earlier),
                    who=last.created_by,
                    when=f"{last.created_at:%Y-%m-%d %H:%M}",
                )
            params["acknowledged"] = bool(earlier)
        if mode == "stress":
            params.update(_stress_params(session, project_id, ids, runs, slice_columns, other_version_id, n_repeats))
        if mode == "performance":
            for name, value, minimum in (("max_rows", max_rows, 1), ("n_calls", n_calls, 1)):
                if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                    raise InputError("evaluation.bad_count", name=name, value=str(value)[:20], minimum=minimum)
            params.update({"max_rows": int(max_rows), "n_calls": int(n_calls)})
        job = submit_job(session=session, kind="evaluate", params=params, actor_id=actor_id, project_id=project_id)
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _running_job(session: Session, project_id: int, mode: str, ids: Sequence[int]) -> int | None:
    jobs = session.exec(
        select(Job).where(Job.kind == "evaluate", Job.project_id == project_id, col(Job.status).in_(ACTIVE))
    ).all()
    for job in jobs:
        if job.params.get("mode") == mode and sorted(job.params.get("candidate_ids", [])) == sorted(ids):
            return job.id
    return None


def _stress_params(
    session: Session,
    project_id: int,
    ids: Sequence[int],
    runs: Mapping[int, RunRecord],
    columns: Sequence[str] | None,
    other_version_id: int | None,
    n_repeats: int,
) -> dict[str, Any]:
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or not 1 <= n_repeats <= 10:
        raise InputError("evaluation.bad_count", name="n_repeats", value=str(n_repeats)[:20], minimum=1)
    chosen: list[str] = []
    if columns is not None:
        if isinstance(columns, str) or not isinstance(columns, Sequence) or len(columns) > MAX_SLICE_COLUMNS:
            raise InputError("evalpage.stress.bad_columns", columns="—", maximum=MAX_SLICE_COLUMNS)
        chosen = list(dict.fromkeys(str(c) for c in columns))
    for candidate_id in ids:
        run = runs[candidate_id]
        available, default = slice_columns(session=session, project_id=project_id, candidate_id=candidate_id)
        wanted = chosen if columns is not None else default
        missing = [c for c in wanted if c not in available]
        if missing:
            raise InputError(
                "evalpage.stress.bad_columns", columns=", ".join(c[:60] for c in missing[:5]), maximum=MAX_SLICE_COLUMNS
            )
        if other_version_id is not None:
            choices = {
                v.id for v in other_version_choices(session=session, project_id=project_id, candidate_id=candidate_id)
            }
            if other_version_id not in choices:
                _version_of(session, project_id, other_version_id)  # NotFound for another project's version
                raise InputError("evalpage.stress.bad_version", target=run.target[:80])
    return {
        "slice_columns": chosen if columns is not None else None,
        "other_version_id": other_version_id,
        "n_repeats": int(n_repeats),
    }


# --------------------------------------------------------------------------- the job


@dataclass
class _RunData:
    run: RunRecord
    version: VersionSummary
    frame: pd.DataFrame  # labelled rows, every column, index = position in the version
    y: pd.Series
    X: pd.DataFrame  # training rows (target dropped)
    y_train: pd.Series
    test_rows: npt.NDArray[np.int64]


def _read_run(session: Session, store: ArtifactStore, run: RunRecord) -> _RunData:
    version = get_version(session=session, version_id=run.version_id)
    table = read_version(store=store, version=version)
    frame, y, _ = _labelled(table, run.target)
    test_rows = read_test_rows(store=store, run=run)
    X, y_train = _training_rows(frame, y, target=run.target, test_rows=test_rows)
    return _RunData(run, version, frame, y, X, y_train, test_rows)


def _folds(data: _RunData, candidate: CandidateRecord) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """The run's folds, rebuilt from its configuration and checked against the recorded fold sizes."""
    config = data.run.run_config
    scheme = str(config["scheme"])
    group_column, order_column = config.get("group_column"), config.get("order_column")
    groups = _group_values(data.X, group_column) if scheme == "group_kfold" and group_column else None
    order = _order_values(data.X, order_column) if scheme == "time_series" and order_column else None
    splitter = make_splitter(
        scheme,
        n_splits=max(int(config["n_splits"]), 2),
        task_type=data.run.task_type,
        groups=groups,
        order=order,
        test_size=float(config["test_size"]),
        random_state=int(config["random_state"]),
    )
    features = list(data.run.features)
    folds = [
        (np.asarray(tr, np.intp), np.asarray(te, np.intp)) for tr, te in splitter.split(data.X[features], data.y_train)
    ]
    recorded = [(int(f.get("train_rows", -1)), int(f.get("test_rows", -1))) for f in candidate.fold_metrics]
    if recorded != [(len(tr), len(te)) for tr, te in folds]:
        raise InputError("evalpage.folds_changed", run=data.run.id)
    return folds


def _merge(parts: Sequence[Predictions], classes: tuple[Any, ...]) -> Predictions:
    """Concatenate per-fold predictions, aligning score columns on ``classes`` (a fold can miss a class)."""
    first = parts[0]
    scores = None
    if first.scores is not None:
        blocks = []
        for part in parts:
            assert part.scores is not None
            block = np.zeros((len(part), len(classes)), dtype=np.float64)
            for k, label in enumerate(part.classes):
                block[:, classes.index(label)] = part.scores[:, k]
            blocks.append(block)
        scores = np.vstack(blocks)
    return Predictions(
        task_type=first.task_type,
        y_true=np.concatenate([p.y_true for p in parts]),
        y_pred=np.concatenate([p.y_pred for p in parts]),
        scores=scores,
        classes=classes,
        pos_label=first.pos_label,
        probabilities=first.probabilities,
    )


def _fold_models(
    ctx: JobContext, data: _RunData, candidate: CandidateRecord, pipeline: Any, start: float, span: float
) -> list[tuple[Any, npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """The candidate's stored configuration (its pipeline, unfitted) fitted on each training fold."""
    from sklearn.base import clone

    folds = _folds(data, candidate)
    features = list(data.run.features)
    out = []
    for k, (train, test) in enumerate(folds, 1):
        ctx.progress(
            start + span * (k - 1) / len(folds),
            "evalpage.progress.fold",
            candidate=candidate.label,
            fold=k,
            folds=len(folds),
        )
        model = clone(pipeline)
        model.fit(data.X[features].iloc[train], data.y_train.iloc[train])
        out.append((model, train, test))
    return out


def _pos_label(run: RunRecord) -> Any:
    return run.run_config.get("positive_class")


def _oof(
    data: _RunData, candidate: CandidateRecord, models: Sequence[tuple[Any, Any, Any]], classes: tuple[Any, ...]
) -> tuple[Predictions, npt.NDArray[np.int64], npt.NDArray[np.int64], float]:
    """Out-of-fold predictions, the rows and folds they belong to, and the largest difference between a
    fold's recomputed metric and the one training recorded."""
    features = list(data.run.features)
    parts, rows, folds = [], [], []
    difference = 0.0
    for k, (model, _, test) in enumerate(models, 1):
        X_test = data.X[features].iloc[test]
        part = predict_for_evaluation(model, X_test, data.y_train.iloc[test].to_numpy(), pos_label=_pos_label(data.run))
        parts.append(part)
        rows.append(X_test.index.to_numpy(dtype=np.int64))
        folds.append(np.full(len(test), k, dtype=np.int64))
        recorded = candidate.fold_metrics[k - 1]
        for metric, value in score_predictions(part, list(data.run.metrics)).items():
            before = float(recorded.get(metric, math.nan))
            if math.isfinite(before) and math.isfinite(value):
                difference = max(difference, abs(before - value))
    merged = _merge(parts, classes)
    return merged, np.concatenate(rows), np.concatenate(folds), difference


def _classes(pipeline: Any) -> tuple[Any, ...]:
    values = getattr(pipeline, "classes_", None)
    return tuple(_json_safe(np.asarray(values).tolist())) if values is not None else ()


def _predictions_summary(p: Predictions, metrics: Mapping[str, float], **extra: Any) -> dict[str, Any]:
    summary: dict[str, Any] = _json_safe(
        {
            "task_type": p.task_type,
            "classes": list(p.classes),
            "pos_label": p.pos_label,
            "probabilities": p.probabilities,
            "n_rows": len(p),
            "metrics": dict(metrics),
            **extra,
        }
    )
    return summary


@dataclass
class _Pending:
    """A result computed by the job, written only when everything is done."""

    candidate_id: int
    kind: str
    payload: bytes | pa.Table
    summary: dict[str, Any]
    params: dict[str, Any]
    test_key: tuple[int, int, str] | None = None  # (run id, version id, test rows sha) of a test result


@job_kind("evaluate")
def evaluate_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: compute one kind of evaluation (see :func:`submit_evaluation`) and store it."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    mode = str(params["mode"])
    ids = [int(c) for c in params["candidate_ids"]]
    store = ArtifactStore(ctx.settings.artifacts_dir)
    action = "evaluation.test_set" if mode == "test" else "evaluation.run"
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action=action, project_id=project_id)
        records = [_candidate_and_run(session, project_id, c) for c in ids]
        if mode == "test":  # the run's baseline is scored on the same rows, to compare with
            for _, run in list(records):
                detail = run_detail(session=session, project_id=project_id, run_id=run.id)
                for other in detail.candidates:
                    if other.family == _BASELINE and other.id not in ids:
                        ids.append(other.id)
                        records.append((other, run))
        pipelines = {
            c.id: load_model(session=session, store=store, candidate_id=c.id, project_id=project_id) for c, _ in records
        }
        thresholds = {c.id: _saved_threshold(session, project_id, c.id) for c, _ in records}
        canvas, _ = _canvas(session, project_id)
        other_version = None
        roots: dict[int, int] = {}
        if mode == "stress" and params.get("other_version_id") is not None:
            other_version = _version_of(session, project_id, int(params["other_version_id"]))
            roots = _lineage_roots(list_versions(session=session, project_id=project_id))
        column_choices = (
            {c.id: slice_columns(session=session, project_id=project_id, candidate_id=c.id) for c, _ in records}
            if mode == "stress"
            else {}
        )
    ctx.progress(0.01, "evalpage.progress.reading", candidates=len(records))
    data_by_run: dict[int, _RunData] = {}
    pending: list[_Pending] = []
    n_rows = 0
    span = 0.9 / max(len(records), 1)
    for index, (candidate, run) in enumerate(records):
        start = 0.05 + index * span
        if run.id not in data_by_run:
            with session_scope(ctx.engine) as session:
                data_by_run[run.id] = _read_run(session, store, run)
        data = data_by_run[run.id]
        pipeline = pipelines[candidate.id]
        if mode == "oof":
            models = _fold_models(ctx, data, candidate, pipeline, start, span)
            predictions, rows, folds, difference = _oof(data, candidate, models, _classes(pipeline))
            metrics = score_predictions(predictions, list(run.metrics))
            summary = _predictions_summary(
                predictions, metrics, scheme=run.scheme, n_folds=len(models), fold_difference=difference
            )
            pending.append(_Pending(candidate.id, "oof", _predictions_table(predictions, rows, folds), summary, {}))
            n_rows += len(predictions)
        elif mode == "test":
            ctx.progress(start, "evalpage.progress.test", candidate=candidate.label, rows=len(data.test_rows))
            X_test = data.frame.loc[data.test_rows]
            predictions = predict_for_evaluation(
                pipeline, X_test[list(run.features)], data.y.loc[data.test_rows].to_numpy(), pos_label=_pos_label(run)
            )
            metrics = score_predictions(predictions, _metrics_for(run, canvas))
            summary = _predictions_summary(predictions, metrics, run_id=run.id)
            table = _predictions_table(predictions, data.test_rows, np.zeros(len(data.test_rows), dtype=np.int64))
            pending.append(
                _Pending(candidate.id, "test", table, summary, {}, (run.id, run.version_id, run.test_rows_sha256))
            )
            n_rows += len(predictions)
        elif mode == "stress":
            available, default = column_choices[candidate.id]
            wanted = params.get("slice_columns")
            columns = [c for c in (wanted if wanted is not None else default) if c in available]
            result = _stress(
                ctx,
                data,
                candidate,
                pipeline,
                start,
                span,
                columns=columns,
                threshold=thresholds[candidate.id],
                canvas=canvas,
                other=other_version,
                same_lineage=other_version is not None and roots.get(other_version.id) == roots.get(run.version_id),
                n_repeats=int(params.get("n_repeats", 1)),
                store=store,
            )
            pending.append(
                _Pending(
                    candidate.id,
                    "stress",
                    result[0],
                    result[1],
                    {"slice_columns": columns, "other_version_id": other_version.id if other_version else None},
                )
            )
            n_rows += int(result[1]["n_rows"])
        else:
            payload, summary = _performance(
                ctx,
                data,
                candidate,
                pipeline,
                start,
                span,
                settings=ctx.settings,
                max_rows=int(params.get("max_rows", PERFORMANCE_SIZES[-1])),
                n_calls=int(params.get("n_calls", 200)),
            )
            pending.append(
                _Pending(candidate.id, "performance", payload, summary, {"max_rows": params.get("max_rows")})
            )
            n_rows += int(summary["peak_memory_rows"])
    ctx.progress(0.97, "evalpage.progress.saving", results=len(pending))  # the last chance to cancel
    evaluation_ids = _save_results(
        ctx,
        store,
        project_id=project_id,
        actor_id=actor_id,
        mode=mode,
        pending=pending,
        acknowledged=bool(params.get("acknowledged", False)),
    )
    labels = sorted({d.version.label for d in data_by_run.values()})
    return {"evaluation_ids": evaluation_ids, "mode": mode, "label": ", ".join(labels), "n_rows": n_rows}


def _save_results(
    ctx: JobContext,
    store: ArtifactStore,
    *,
    project_id: int,
    actor_id: int,
    mode: str,
    pending: Sequence[_Pending],
    acknowledged: bool,
) -> list[int]:
    """Write the artifacts, then every result row, the test-set uses and the audit event in one transaction.

    Identical files (the same predictions) have the same hash: two jobs finishing together may race to
    record the same artifact, so a lost race is retried."""
    refs: list[ArtifactRef] = []
    for item in pending:
        if isinstance(item.payload, pa.Table):
            refs.append(store.put_table(item.payload))
        else:
            refs.append(store.put_bytes(item.payload))
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(ctx.engine) as session:
                action = "evaluation.test_set" if mode == "test" else "evaluation.run"
                actor = require(session=session, user=session.get(User, actor_id), action=action, project_id=project_id)
                uses: dict[tuple[int, str], HeldOutUse] = {}  # one use per test set, whichever run locked it
                ids = []
                for item, ref in zip(pending, refs, strict=True):
                    kind = "parquet" if isinstance(item.payload, pa.Table) else "json"
                    register_artifact(session=session, ref=ref, kind=kind, actor_id=actor_id)
                    use_id = None
                    if item.test_key is not None:
                        key = (item.test_key[1], item.test_key[2])
                        if key not in uses:
                            uses[key] = _record_use(
                                session, project_id, item.test_key, actor_id, ctx.job_id, acknowledged
                            )
                        use = uses[key]
                        use.candidate_ids = [*use.candidate_ids, item.candidate_id]
                        use_id = use.id
                        item.summary["use_number"] = use.use_number
                    row = CandidateEvaluation(
                        project_id=project_id,
                        candidate_id=item.candidate_id,
                        kind=item.kind,
                        artifact_sha256=ref.sha256,
                        summary=item.summary,
                        params=_json_safe(item.params),
                        held_out_use_id=use_id,
                        job_id=ctx.job_id,
                        created_by_id=actor_id,
                    )
                    session.add(row)
                    session.flush()
                    ids.append(row.id or 0)
                for use in uses.values():
                    session.add(use)
                    record_event(
                        session=session,
                        actor=actor,
                        action="evaluation.test_set",
                        object_type="training_run",
                        object_id=use.run_id,
                        project_id=project_id,
                        after={
                            "use_number": use.use_number,
                            "candidates": ", ".join(str(c) for c in use.candidate_ids),
                            "acknowledged": use.acknowledged,
                            "test_rows_sha256": use.test_rows_sha256,
                        },
                    )
                if mode != "test":
                    record_event(
                        session=session,
                        actor=actor,
                        action="evaluation.run",
                        object_type="run_candidate",
                        object_id=", ".join(str(p.candidate_id) for p in pending)[:100],
                        project_id=project_id,
                        after={"mode": mode, "results": len(ids)},
                    )
                session.flush()
                return ids
        except IntegrityError:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _record_use(
    session: Session, project_id: int, key: tuple[int, int, str], actor_id: int, job_id: int, acknowledged: bool
) -> HeldOutUse:
    run_id, version_id, sha = key
    earlier = session.exec(
        select(HeldOutUse).where(
            HeldOutUse.project_id == project_id,
            HeldOutUse.dataset_version_id == version_id,
            HeldOutUse.test_rows_sha256 == sha,
        )
    ).all()
    use = HeldOutUse(
        project_id=project_id,
        run_id=run_id,
        dataset_version_id=version_id,
        test_rows_sha256=sha,
        use_number=len(earlier) + 1,
        candidate_ids=[],
        acknowledged=acknowledged and bool(earlier),
        job_id=job_id,
        created_by_id=actor_id,
    )
    session.add(use)
    session.flush()
    return use


# --------------------------------------------------------------------------- stress tests


@dataclass(frozen=True, eq=False)
class StressResult:
    """A stored stress test: robustness (averaged over the run's folds), slices and another version.

    Attributes
    ----------
    robustness : RobustnessResult
        ``std`` is the spread over folds; ``baseline`` the fold-mean metrics without perturbation.
    slices : SliceReport or None
        Out-of-fold predictions per slice (None without slice columns).
    other : tuple of (str, VersionEvaluation)
        The final model on another dataset version (label, result); empty when not asked. Its
        ``predictions`` are not stored (an empty set).
    threshold : float or None
        The threshold label metrics were computed at.
    """

    robustness: RobustnessResult
    slices: SliceReport | None
    other: tuple[tuple[str, VersionEvaluation], ...]
    threshold: float | None


def _combine_robustness(parts: Sequence[RobustnessResult]) -> RobustnessResult:
    """Fold results as one: each value the mean over folds, ``std`` the spread over folds."""
    frame = pd.concat([p.frame.assign(fold=k) for k, p in enumerate(parts)], ignore_index=True)
    grouped = frame.groupby(["perturbation", "level", "metric"], sort=False)
    table = grouped.agg(value=("value", "mean"), std=("value", lambda v: float(np.std(v))), columns=("columns", "max"))
    table = table.reset_index()
    metrics = parts[0].metrics
    baseline = {m: float(np.nanmean([p.baseline[m] for p in parts])) for m in metrics}
    base = table["metric"].map(baseline).astype(np.float64)
    sign = table["metric"].map(lambda m: 1.0 if metric_direction(m) == "higher" else -1.0).astype(np.float64)
    table["change"] = table["value"] - base
    table["degradation"] = sign * (base - table["value"]) + 0.0
    table = table[["perturbation", "level", "metric", "value", "std", "change", "degradation", "columns"]]
    return RobustnessResult(
        metrics=metrics,
        baseline=baseline,
        frame=table,
        skipped=parts[0].skipped,
        n_rows=sum(p.n_rows for p in parts),
        n_repeats=parts[0].n_repeats,
        predict_calls=sum(p.predict_calls for p in parts),
    )


def _fold_reporter(ctx: JobContext, start: float, width: float, fold: int, folds: int) -> Any:
    def report(fraction: float, key: str, /, **values: Any) -> None:
        ctx.progress(
            start + width * fraction,
            "evalpage.progress.robustness",
            fold=fold,
            folds=folds,
            perturbation=str(values.get("perturbation", "")),
            level=values.get("level", 0.0),
        )

    return report


def _slice_metric(run: RunRecord, canvas: Canvas) -> str:
    if canvas.metric and canvas.metric in METRICS and METRICS[canvas.metric].task_type == run.task_type:
        return canvas.metric
    return run.metrics[0]


def _stress(
    ctx: JobContext,
    data: _RunData,
    candidate: CandidateRecord,
    pipeline: Any,
    start: float,
    span: float,
    *,
    columns: Sequence[str],
    threshold: float | None,
    canvas: Canvas,
    other: VersionSummary | None,
    same_lineage: bool,
    n_repeats: int,
    store: ArtifactStore,
) -> tuple[bytes, dict[str, Any]]:
    models = _fold_models(ctx, data, candidate, pipeline, start, span * 0.3)
    features = list(data.run.features)
    parts = []
    for k, (model, train, test) in enumerate(models, 1):
        report = _fold_reporter(
            ctx, start + span * (0.3 + 0.5 * (k - 1) / len(models)), span * 0.5 / len(models), k, len(models)
        )
        parts.append(
            robustness_suite(
                model,
                data.X[features].iloc[test],
                data.y_train.iloc[test].to_numpy(),
                metrics=list(data.run.metrics),
                roles=data.run.roles,
                reference=data.X[features].iloc[train],
                features=features,
                n_repeats=n_repeats,
                random_state=int(data.run.seed),
                pos_label=_pos_label(data.run),
                progress=report,
            )
        )
    robustness = _combine_robustness(parts)
    slices = None
    if columns:
        ctx.progress(start + span * 0.85, "evalpage.progress.slices", columns=len(columns))
        predictions, rows, _, _ = _oof(data, candidate, models, _classes(pipeline))
        frame = data.frame.loc[rows].reset_index(drop=True)
        slices = slice_performance(
            _at_threshold(predictions, threshold), frame, columns=list(columns), metric=_slice_metric(data.run, canvas)
        )
    other_json = None
    if other is not None:
        ctx.progress(start + span * 0.92, "evalpage.progress.other_version", label=other.label)
        table = read_version(store=store, version=other).to_pandas(date_as_object=False)
        reference = _floats(candidate.mean)
        result = evaluate_on_frame(
            pipeline,
            table,
            target=data.run.target,
            metrics=list(data.run.metrics),
            features=features,
            pos_label=_pos_label(data.run),
            reference=reference,
        )
        values = dict(result.metrics)
        if threshold is not None and result.predictions.pos_label is not None and result.predictions.probabilities:
            values = score_predictions(result.predictions.at_threshold(threshold), list(data.run.metrics))
        other_json = {
            "version_id": other.id,
            "label": other.label,
            "metrics": values,
            "n_rows": result.n_rows,
            "n_unlabelled": result.n_unlabelled,
            "ignored_columns": list(result.ignored_columns),
            "reference": reference,
            "change": {m: values[m] - reference[m] for m in values if m in reference},
            # a version of the same lineage may hold the very rows the model learned from
            "same_lineage": same_lineage,
        }
    payload = {
        "format": 1,
        "threshold": threshold,
        "robustness": {
            "metrics": list(robustness.metrics),
            "baseline": dict(robustness.baseline),
            "frame": robustness.frame.to_dict("records"),
            "skipped": list(robustness.skipped),
            "n_rows": robustness.n_rows,
            "n_repeats": robustness.n_repeats,
            "predict_calls": robustness.predict_calls,
            "folds": len(parts),
        },
        "slices": None
        if slices is None
        else {
            "metric": slices.metric,
            "overall": slices.overall,
            "min_size": slices.min_size,
            "frame": slices.frame.to_dict("records"),
        },
        "other": other_json,
    }
    text = json.dumps(_json_safe(payload), ensure_ascii=False).encode("utf-8")
    worst = None if slices is None or slices.worst.empty else str(slices.worst.iloc[0]["slice"])
    summary = _json_safe(
        {
            "n_rows": robustness.n_rows,
            "folds": len(parts),
            "slice_columns": list(columns),
            "worst_slice": worst,
            "other_version": other.label if other is not None else None,
            "same_lineage": same_lineage,
            "threshold": threshold,
        }
    )
    return text, summary


def _records(rows: Any, columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows or []), columns=list(columns))
    for name in frame.columns:
        if frame[name].dtype == object and frame[name].map(lambda v: v is None or isinstance(v, int | float)).all():
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


_ROBUST_COLUMNS = ("perturbation", "level", "metric", "value", "std", "change", "degradation", "columns")
_SLICE_COLUMNS = (
    "column",
    "kind",
    "slice",
    "lower",
    "upper",
    "n_rows",
    "share",
    "value",
    "shortfall",
    "small",
    "worst",
)


def read_stress(*, store: ArtifactStore, record: EvaluationRecord) -> StressResult:
    """A stored stress test (the file's hash is checked)."""
    if record.kind != "stress":
        raise InputError("evalpage.not_stress", kind=record.kind)
    data = json.loads(store.read_bytes(record.artifact_sha256).decode("utf-8"))
    r = data["robustness"]
    robustness = RobustnessResult(
        metrics=tuple(r["metrics"]),
        baseline=_floats(r["baseline"]),
        frame=_records(r["frame"], _ROBUST_COLUMNS),
        skipped=tuple(r["skipped"]),
        n_rows=int(r["n_rows"]),
        n_repeats=int(r["n_repeats"]),
        predict_calls=int(r["predict_calls"]),
    )
    slices = None
    if data.get("slices"):
        s = data["slices"]
        frame = _records(s["frame"], _SLICE_COLUMNS)
        for name in ("small", "worst"):
            frame[name] = frame[name].astype(bool)
        slices = SliceReport(
            s["metric"], float(s["overall"] if s["overall"] is not None else math.nan), int(s["min_size"]), frame
        )
    other: tuple[tuple[str, VersionEvaluation], ...] = ()
    if data.get("other"):
        o = data["other"]
        empty = Predictions("regression", np.empty(0), np.empty(0), None, (), None, False)
        other = (
            (
                str(o["label"]),
                VersionEvaluation(
                    metrics=_floats(o["metrics"]),
                    n_rows=int(o["n_rows"]),
                    n_unlabelled=int(o["n_unlabelled"]),
                    ignored_columns=tuple(o["ignored_columns"]),
                    reference=_floats(o["reference"]),
                    change=_floats(o["change"]),
                    predictions=empty,
                ),
            ),
        )
    threshold = data.get("threshold")
    return StressResult(robustness, slices, other, None if threshold is None else float(threshold))


def other_version_frame(result: VersionEvaluation, *, lang: str = "en") -> pd.DataFrame:
    """The final model on another dataset version: ``metric`` (translated), ``value``, ``reference`` (the
    cross-validated value) and ``change`` (value minus reference)."""
    rows = [
        {
            "metric": _t(f"planning.metric.{m}", lang),
            "value": float(v),
            "reference": float((result.reference or {}).get(m, math.nan)),
            "change": float(result.change.get(m, math.nan)),
        }
        for m, v in result.metrics.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "reference", "change"])


def robustness_frame(result: RobustnessResult, *, metric: str | None = None, lang: str = "en") -> pd.DataFrame:
    """The robustness results of one metric (default the first): ``perturbation`` (translated), ``level``,
    ``value``, ``std``, ``change``, ``degradation``."""
    name = metric or result.metrics[0]
    shown = result.frame[result.frame["metric"] == name]
    out = shown[["perturbation", "level", "value", "std", "change", "degradation"]].copy()
    out["perturbation"] = out["perturbation"].map(lambda k: _t(f"evaluation.perturbation.{k}", lang))
    return out.reset_index(drop=True)


def robustness_figure(result: RobustnessResult, *, metric: str | None = None, lang: str = "en") -> go.Figure:
    """One line per perturbation: the metric against the perturbation's level, the unperturbed value dashed."""
    import plotly.graph_objects as go

    name = metric or result.metrics[0]
    shown = result.frame[(result.frame["metric"] == name) & (result.frame["perturbation"] != "none")]
    figure = go.Figure()
    for kind, part in shown.groupby("perturbation", sort=False):
        figure.add_trace(
            go.Scatter(
                x=part["level"],
                y=part["value"],
                error_y={"type": "data", "array": part["std"], "visible": True},
                mode="lines+markers",
                name=_t(f"evaluation.perturbation.{kind}", lang),
            )
        )
    figure.add_hline(
        y=float(result.baseline[name]),
        line={"dash": "dash", "color": "grey"},
        annotation_text=_t("evalpage.robustness.unperturbed", lang),
    )
    figure.update_layout(
        xaxis_title=_t("evalpage.robustness.level", lang),
        yaxis_title=_t(f"planning.metric.{name}", lang),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=380,
        legend={"orientation": "h", "yanchor": "top", "y": -0.2},
    )
    return figure


def slices_frame(report: SliceReport, *, lang: str = "en") -> pd.DataFrame:
    """The slices as a table, worst first then by column: ``column``, ``slice`` (missing and rare values
    named in ``lang``), ``n_rows``, ``share``, ``value``, ``shortfall``, ``small``, ``worst``."""
    frame = report.frame.copy()
    frame["slice"] = [
        _t(f"evaluation.report.slice_{kind}", lang) if kind in ("missing", "other") else str(label)
        for kind, label in zip(frame["kind"], frame["slice"], strict=True)
    ]
    worst = frame[frame["worst"]].sort_values("shortfall", ascending=False, kind="stable")
    rest = frame[~frame["worst"]].sort_values(["column", "shortfall"], ascending=[True, False], kind="stable")
    frame = pd.concat([worst, rest])
    return frame[["column", "slice", "n_rows", "share", "value", "shortfall", "small", "worst"]].reset_index(drop=True)


# --------------------------------------------------------------------------- speed


def _performance(
    ctx: JobContext,
    data: _RunData,
    candidate: CandidateRecord,
    pipeline: Any,
    start: float,
    span: float,
    *,
    settings: Settings,
    max_rows: int,
    n_calls: int,
) -> tuple[bytes, dict[str, Any]]:
    features = list(data.run.features)
    rows = data.frame[features]  # labels are not read: every labelled row may be used
    sizes = performance_sizes(n_features=len(features), settings=settings, max_rows=max_rows)

    def report(fraction: float, key: str, /, **values: Any) -> None:
        ctx.progress(
            start + span * fraction,
            "evalpage.progress.performance",
            candidate=candidate.label,
            step=str(values.get("step", "")),
        )

    result = measure_performance(
        pipeline,
        rows,
        n_calls=n_calls,
        batch_sizes=sizes,
        training_seconds=candidate.fit_seconds,
        progress=report,
    )
    payload = asdict(result)
    payload["throughput"] = [list(pair) for pair in result.throughput]
    text = json.dumps(_json_safe(payload), ensure_ascii=False).encode("utf-8")
    summary = _json_safe(
        {
            "latency_ms_p95": result.latency_ms_p95,
            "best_throughput": result.best_throughput,
            "model_bytes": result.model_bytes,
            "peak_memory_rows": result.peak_memory_rows,
            "host": result.host.get("host"),
        }
    )
    return text, summary


def read_performance(*, store: ArtifactStore, record: EvaluationRecord) -> PerformanceReport:
    """A stored speed test (the file's hash is checked)."""
    if record.kind != "performance":
        raise InputError("evalpage.not_performance", kind=record.kind)
    data = json.loads(store.read_bytes(record.artifact_sha256).decode("utf-8"))
    return PerformanceReport(
        method=str(data["method"]),
        latency_calls=int(data["latency_calls"]),
        latency_ms_p50=float(data["latency_ms_p50"]),
        latency_ms_p95=float(data["latency_ms_p95"]),
        latency_ms_p99=float(data["latency_ms_p99"]),
        throughput=tuple((int(n), float(rate)) for n, rate in data["throughput"]),
        model_bytes=int(data["model_bytes"]),
        peak_memory_bytes=int(data["peak_memory_bytes"]),
        peak_memory_rows=int(data["peak_memory_rows"]),
        training_seconds=None if data.get("training_seconds") is None else float(data["training_seconds"]),
        host=dict(data.get("host") or {}),
    )


def performance_frame(report: PerformanceReport, *, lang: str = "en") -> pd.DataFrame:
    """The speed test as ``measure`` (translated) and ``value`` (text in ``lang``)."""

    def number(value: float, digits: int = 2) -> str:
        text = f"{value:,.{digits}f}"
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "es" else text

    rows = [
        (_t("evalpage.perf.latency_p50", lang), _t("evalpage.perf.ms", lang, value=number(report.latency_ms_p50))),
        (_t("evalpage.perf.latency_p95", lang), _t("evalpage.perf.ms", lang, value=number(report.latency_ms_p95))),
        (_t("evalpage.perf.latency_p99", lang), _t("evalpage.perf.ms", lang, value=number(report.latency_ms_p99))),
    ]
    rows += [
        (
            _t("evalpage.perf.throughput", lang, rows=number(n, 0)),
            _t("evalpage.perf.rows_per_second", lang, value=number(rate, 0)),
        )
        for n, rate in report.throughput
    ]
    rows += [
        (
            _t("evalpage.perf.model_size", lang),
            _t("evalpage.perf.megabytes", lang, value=number(report.model_bytes / 1e6)),
        ),
        (
            _t("evalpage.perf.peak_memory", lang, rows=number(report.peak_memory_rows, 0)),
            _t("evalpage.perf.megabytes", lang, value=number(report.peak_memory_bytes / 1e6)),
        ),
        (
            _t("evalpage.perf.training_time", lang),
            "—"
            if report.training_seconds is None
            else _t("evalpage.perf.seconds", lang, value=number(report.training_seconds)),
        ),
        (
            _t("evalpage.perf.host", lang),
            ", ".join(str(report.host.get(k) or "—") for k in ("host", "platform", "processor")),
        ),
        (_t("evalpage.perf.cpus", lang), str(report.host.get("cpus") or "—")),
        (
            _t("evalpage.perf.memory", lang),
            "—"
            if not report.host.get("memory_bytes")
            else _t("evalpage.perf.gigabytes", lang, value=number(float(report.host["memory_bytes"]) / 1e9, 1)),
        ),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"])


# --------------------------------------------------------------------------- fairness


@dataclass(frozen=True, eq=False)
class FairnessView:
    """Fairness of one candidate for one sensitive column.

    ``source`` is ``test`` (the locked test set's predictions) or ``oof`` (out-of-fold predictions,
    before the test set was used); ``threshold`` the one the labels were decided at."""

    report: FairnessReport
    source: str
    threshold: float | None


def _best_record(session: Session, project_id: int, candidate_id: int) -> EvaluationRecord | None:
    """The predictions fairness and the report read: the locked test set's if evaluated, else out-of-fold."""
    for kind in ("test", "oof"):
        found = latest_evaluations(session=session, project_id=project_id, candidate_ids=[candidate_id], kind=kind)
        if candidate_id in found:
            return found[candidate_id]
    return None


def _best_predictions(
    session: Session, store: ArtifactStore, project_id: int, candidate_id: int
) -> StoredPredictions | None:
    record = _best_record(session, project_id, candidate_id)
    return None if record is None else read_predictions(store=store, record=record)


@functools.lru_cache(maxsize=64)
def _fairness_cached(
    root: str, kind: str, sha256: str, summary: str, version_sha: str, column: str, cut: float
) -> FairnessReport:
    """Fairness of stored predictions. Stored files never change (they are named by their hash) and
    fairlearn takes a noticeable moment per column, so results are kept by content: store, predictions
    file (with the JSON of how to read it), dataset version file, column and threshold. The report is
    shared: treat it as read-only."""
    store = ArtifactStore(Path(root))
    record = EvaluationRecord(0, 0, kind, sha256, json.loads(summary), {}, None, None, "", utcnow())
    stored = read_predictions(store=store, record=record)
    values = store.read_table(version_sha, columns=[column]).column(column).to_pandas()
    groups = values.iloc[stored.rows].reset_index(drop=True)
    labelled = stored.predictions.at_threshold(cut)
    return fairness_report(labelled.y_true, labelled.y_pred, groups, name=column, pos_label=labelled.pos_label)


def fairness_for(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    candidate_id: int,
    column: str,
    threshold: float | None = None,
) -> FairnessView | None:
    """Per-group rates and the two differences for one sensitive column, from the candidate's stored
    predictions (the locked test set's if it was evaluated, else out-of-fold), at ``threshold`` (default:
    the saved one, else 0.5). None when no predictions are stored yet.

    Raises
    ------
    InputError
        ``evalpage.needs_two_classes``, ``evalpage.fairness.no_column`` (the column is not in the
        version), ``evaluation.fairness.one_group``,
        ``evaluation.fairness.too_many_groups``.
    """
    candidate, run = _candidate_and_run(session, project_id, candidate_id)
    record = _best_record(session, project_id, candidate_id)
    if record is None:
        return None
    summary = record.summary
    if summary.get("pos_label") is None or not summary.get("probabilities", False):
        raise InputError("evalpage.needs_two_classes")
    version = _version_of(session, project_id, run.version_id)
    if column not in {str(c["name"]) for c in version.columns}:
        raise InputError("evalpage.fairness.no_column", column=str(column)[:80], version=version.label)
    chosen = threshold if threshold is not None else _saved_threshold(session, project_id, candidate_id)
    cut = DEFAULT_THRESHOLD if chosen is None else float(chosen)
    how = json.dumps(
        {k: summary.get(k) for k in ("task_type", "classes", "pos_label", "probabilities")}, sort_keys=True
    )
    report = _fairness_cached(str(store.root), record.kind, record.artifact_sha256, how, version.sha256, column, cut)
    return FairnessView(report, record.kind, cut)


def fairness_frame(report: FairnessReport, *, lang: str = "en") -> pd.DataFrame:
    """Per group: ``group``, ``count``, ``positives``, ``selection_rate``, ``true_positive_rate``,
    ``false_positive_rate``, ``small`` (too few rows to act on)."""
    out = report.groups[
        ["group", "count", "positives", "selection_rate", "true_positive_rate", "false_positive_rate", "small"]
    ]
    return out.reset_index(drop=True)


def fairness_figure(report: FairnessReport, *, lang: str = "en") -> go.Figure:
    """Selection rate, true- and false-positive rate per group, side by side."""
    import plotly.graph_objects as go

    groups = report.groups
    figure = go.Figure(
        [
            go.Bar(x=groups["group"].astype(str), y=groups[name], name=_t(key, lang))
            for name, key in (
                ("selection_rate", "evaluation.measure.selection_rate"),
                ("true_positive_rate", "evaluation.axis.true_positive_rate"),
                ("false_positive_rate", "evaluation.measure.false_positive_rate"),
            )
        ]
    )
    figure.update_layout(
        barmode="group",
        yaxis={"range": [0, 1], "tickformat": ".0%"},
        xaxis_title=report.sensitive,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=360,
        legend={"orientation": "h", "yanchor": "top", "y": -0.25},
    )
    return figure


# --------------------------------------------------------------------------- the deploy decision


@dataclass(frozen=True, eq=False)
class DecisionContext:
    """Everything the deploy decision of a candidate is checked against.

    Attributes
    ----------
    candidate : CandidateRecord
    run : RunRecord
    label : str
    canvas : Canvas
    canvas_source : {"signed", "draft"}
        The canvas signed off at the planning gate, or the draft when there was no gate decision yet.
    test_metrics : mapping of str to float or None
        On the locked test set at the saved threshold (None before the test-set evaluation).
    baseline_metrics : mapping or None
        The run's baseline on the same rows.
    test_rows : int or None
    use_number : int or None
        How many times the test set had been looked at, counting that look.
    threshold : float or None
    performance : PerformanceReport or None
    fairness : tuple of FairnessReport
    fairness_errors : tuple of (str, MLCoreError)
        Sensitive columns whose fairness could not be computed, and why.
    settings : SettingsRecord
    checks : DeployChecks
    versions : tuple of ModelVersionRecord
        Registered versions of the candidate (a "go" promotes one of them).
    """

    candidate: CandidateRecord
    run: RunRecord
    label: str
    canvas: Canvas
    canvas_source: str
    test_metrics: Mapping[str, float] | None
    baseline_metrics: Mapping[str, float] | None
    test_rows: int | None
    use_number: int | None
    threshold: float | None
    performance: PerformanceReport | None
    fairness: tuple[FairnessReport, ...]
    fairness_errors: tuple[tuple[str, MLCoreError], ...]
    settings: SettingsRecord
    checks: DeployChecks
    versions: tuple[ModelVersionRecord, ...]


def _registered_versions(session: Session, project_id: int, candidate_id: int) -> tuple[ModelVersionRecord, ...]:
    return tuple(
        v
        for model in list_registry(session=session, project_id=project_id)
        for v in model.versions
        if v.candidate_id == candidate_id
    )


def decision_context(
    *, session: Session, store: ArtifactStore, project_id: int, candidate_id: int, lang: str = "en"
) -> DecisionContext:
    """Check the canvas's success criteria for a candidate against what was stored: the locked test set
    (at the saved threshold), the baseline on the same rows, the speed test and fairness per sensitive column.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    candidate, run = _candidate_and_run(session, project_id, candidate_id)
    canvas, source = _canvas(session, project_id)
    settings = get_settings(session=session, project_id=project_id)
    threshold = _saved_threshold(session, project_id, candidate_id)
    test = latest_evaluations(session=session, project_id=project_id, candidate_ids=[candidate_id], kind="test")
    test_metrics = baseline_metrics = None
    test_rows = use_number = None
    if candidate_id in test:
        record = test[candidate_id]
        stored = read_predictions(store=store, record=record)
        test_metrics = score_predictions(_at_threshold(stored.predictions, threshold), _metrics_for(run, canvas))
        test_rows = len(stored.predictions)
        use_number = int(record.summary.get("use_number", 0)) or None
        detail = run_detail(session=session, project_id=project_id, run_id=run.id)
        baseline = next((c for c in detail.candidates if c.family == _BASELINE), None)
        if baseline is not None and baseline.id != candidate_id:
            found = latest_evaluations(session=session, project_id=project_id, candidate_ids=[baseline.id], kind="test")
            if baseline.id in found:
                base = read_predictions(store=store, record=found[baseline.id])
                baseline_metrics = score_predictions(base.predictions, _metrics_for(run, canvas))
    performance = None
    perf = latest_evaluations(session=session, project_id=project_id, candidate_ids=[candidate_id], kind="performance")
    if candidate_id in perf:
        performance = read_performance(store=store, record=perf[candidate_id])
    reports: list[FairnessReport] = []
    errors: list[tuple[str, MLCoreError]] = []
    if run.task_type == "classification" and test_metrics is not None:
        for column in settings.sensitive_columns:
            try:
                view = fairness_for(
                    session=session, store=store, project_id=project_id, candidate_id=candidate_id, column=column
                )
            except InputError as exc:
                errors.append((column, exc))
                continue
            if view is not None and view.source == "test":
                reports.append(view.report)
    checks = check_criteria(
        canvas,
        test_metrics=test_metrics,
        baseline_metrics=baseline_metrics,
        performance=performance,
        fairness=reports,
        fairness_limit=settings.fairness_limit,
        fairness_measure=settings.fairness_measure,
        min_margin=settings.min_margin,
    )
    return DecisionContext(
        candidate=candidate,
        run=run,
        label=candidate_label(candidate.family, candidate.run_id, lang=lang),
        canvas=canvas,
        canvas_source=source,
        test_metrics=test_metrics,
        baseline_metrics=baseline_metrics,
        test_rows=test_rows,
        use_number=use_number,
        threshold=threshold,
        performance=performance,
        fairness=tuple(reports),
        fairness_errors=tuple(errors),
        settings=settings,
        checks=checks,
        versions=_registered_versions(session, project_id, candidate_id),
    )


def checks_frame(checks: DeployChecks, *, lang: str = "en") -> pd.DataFrame:
    """The criteria as a table: ``criterion``, ``status`` (code), ``status_text``, ``detail`` (in ``lang``)."""
    rows = [
        {
            "criterion": _t(f"evaluation.criterion.{c.criterion}", lang),
            "status": c.status,
            "status_text": _t(f"evaluation.status.{c.status}", lang),
            "detail": c.message(lang),
        }
        for c in checks.checks
    ]
    return pd.DataFrame(rows, columns=["criterion", "status", "status_text", "detail"])


@dataclass(frozen=True)
class DecisionRecord:
    """A recorded go/no-go (see :func:`record_deploy_decision`)."""

    id: int
    candidate_id: int
    candidate_label: str
    model_version_id: int | None
    model_ref: str
    outcome: str
    rationale: str
    recommendation: str
    overrides: bool
    checks: DeployChecks
    promoted: bool
    replaced_ref: str
    decided_by: str
    decided_at: datetime

    def as_decision(self) -> DeployDecision:
        """The decision as :mod:`mlcore.modeling.decision` reports it."""
        return DeployDecision(
            self.outcome,  # type: ignore[arg-type]
            self.rationale,
            self.decided_by,
            self.decided_at,
            self.recommendation or None,  # type: ignore[arg-type]
            self.overrides,
        )


def _checks_json(checks: DeployChecks) -> list[dict[str, Any]]:
    return [
        {"criterion": c.criterion, "status": c.status, "reason_key": c.reason_key, "params": _json_safe(dict(c.params))}
        for c in checks.checks
    ]


def _checks_from_json(values: Sequence[Mapping[str, Any]], recommendation: str) -> DeployChecks:
    checks = tuple(
        CriterionCheck(str(v["criterion"]), v["status"], str(v["reason_key"]), dict(v.get("params") or {}))
        for v in values
    )
    rec = recommendation if recommendation in ("go", "no_go", "incomplete") else "incomplete"
    return DeployChecks(checks, rec)  # type: ignore[arg-type]


def _version_ref(session: Session, version_id: int | None) -> str:
    if version_id is None:
        return ""
    mv = session.get(ModelVersion, version_id)
    model = session.get(RegisteredModel, mv.registered_model_id) if mv is not None else None
    return f"{model.name}@{mv.number}" if mv is not None and model is not None else ""


def deploy_decisions(
    *, session: Session, project_id: int, candidate_id: int | None = None, lang: str = "en"
) -> list[DecisionRecord]:
    """The project's deploy decisions (of one candidate if given), newest first."""
    conditions: list[Any] = [ModelDeployDecision.project_id == project_id]
    if candidate_id is not None:
        conditions.append(ModelDeployDecision.candidate_id == candidate_id)
    rows = session.exec(
        select(ModelDeployDecision, RunCandidate)
        .join(RunCandidate, col(RunCandidate.id) == col(ModelDeployDecision.candidate_id))
        .where(*conditions)
        .order_by(col(ModelDeployDecision.id).desc())
    ).all()
    return [
        DecisionRecord(
            id=row.id or 0,
            candidate_id=row.candidate_id,
            candidate_label=candidate_label(candidate.family, candidate.run_id, lang=lang),
            model_version_id=row.model_version_id,
            model_ref=_version_ref(session, row.model_version_id),
            outcome=row.outcome,
            rationale=row.rationale,
            recommendation=row.recommendation,
            overrides=row.overrides,
            checks=_checks_from_json(row.checks, row.recommendation),
            promoted=row.promoted,
            replaced_ref=_version_ref(session, row.replaced_version_id),
            decided_by=_user_name(session, row.decided_by_id),
            decided_at=row.decided_at,
        )
        for row, candidate in rows
    ]


def decisions_frame(decisions: Sequence[DecisionRecord], *, lang: str = "en") -> pd.DataFrame:
    """The decision history: ``decided_at``, ``decided_by``, ``candidate``, ``model``, ``outcome``
    (go or no-go, translated), ``recommendation`` (translated), ``overrides``, ``promoted``, ``rationale``."""
    rows = [
        {
            "decided_at": d.decided_at,
            "decided_by": d.decided_by,
            "candidate": d.candidate_label,
            "model": d.model_ref or "—",
            "outcome": _t(f"evalpage.decision.short.{d.outcome}", lang),
            "recommendation": _t(f"evaluation.recommendation.{d.recommendation}", lang) if d.recommendation else "—",
            "overrides": d.overrides,
            "promoted": d.promoted,
            "rationale": d.rationale,
        }
        for d in decisions
    ]
    columns = [
        "decided_at",
        "decided_by",
        "candidate",
        "model",
        "outcome",
        "recommendation",
        "overrides",
        "promoted",
        "rationale",
    ]
    return pd.DataFrame(rows, columns=columns)


def _promote(
    session: Session, *, actor: User, project_id: int, version: ModelVersionRecord, reason: str, decision_id: int
) -> int | None:
    """Move ``version`` to production for a "go" decision; return the version it replaced.

    The same rules as the registry's own stage changes: the model's current production version is archived
    in the same transaction (its own audit event), the database refuses a second production version, a
    version changed meanwhile is refused. A deploy decision is the approval that staging stands for, so a
    candidate, staging or archived version may be promoted by it directly."""
    now = utcnow()

    def set_stage(mv_id: int, stage: str, expected: int) -> None:
        changed = session.execute(
            update(ModelVersion)
            .where(col(ModelVersion.id) == mv_id, col(ModelVersion.version) == expected)
            .values(
                stage=stage,
                production_of=version.model_id if stage == "production" else None,
                version=expected + 1,
                stage_changed_by_id=actor.id,
                stage_changed_at=now,
            )
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise ConflictError("tracking.changed_meanwhile", what=version.ref)

    replaced = session.exec(
        select(ModelVersion).where(
            ModelVersion.registered_model_id == version.model_id,
            ModelVersion.stage == "production",
            ModelVersion.id != version.id,
        )
    ).first()
    try:
        if replaced is not None:
            session.refresh(replaced)
            set_stage(replaced.id or 0, "archived", replaced.version)
            session.flush()
            ref = f"{version.name}@{replaced.number}"
            record_event(
                session=session,
                actor=actor,
                action="model.stage",
                object_type="model_version",
                object_id=replaced.id or 0,
                project_id=project_id,
                before={"ref": ref, "stage": "production"},
                after={"ref": ref, "stage": "archived", "replaced_by": version.ref, "deploy_decision": decision_id},
                reason=reason,
            )
        set_stage(version.id, "production", version.version)
        session.flush()
    except IntegrityError as exc:
        raise ConflictError("tracking.changed_meanwhile", what=version.ref) from exc
    record_event(
        session=session,
        actor=actor,
        action="model.stage",
        object_type="model_version",
        object_id=version.id,
        project_id=project_id,
        before={"ref": version.ref, "stage": version.stage},
        after={"ref": version.ref, "stage": "production", "deploy_decision": decision_id},
        reason=reason,
    )
    return None if replaced is None else replaced.id


def record_deploy_decision(
    *,
    session: Session,
    store: ArtifactStore,
    actor: User,
    project_id: int,
    candidate_id: int,
    outcome: str,
    rationale: str,
    model_version_id: int | None = None,
    expected_version: int | None = None,
) -> DecisionRecord:
    """Record the approver's go/no-go for a candidate with the criteria as checked now; a "go" promotes
    the candidate's registered model version to production. All of it is audited.

    Parameters
    ----------
    actor : User
        Needs ``evaluation.decide`` in the project.
    candidate_id : int
    outcome : {"go", "no_go"}
    rationale : str
        Why (required; at most 4,000 characters).
    model_version_id : int, optional
        The registered version of the candidate to promote (needed when it has several).
    expected_version : int, optional
        The model version's ``version`` the form started from.

    Raises
    ------
    PermissionDenied
        Without ``evaluation.decide``.
    NotFound
        ``tracking.candidate_not_found``, ``tracking.model_version_not_found``.
    InputError
        ``evaluation.decision.*`` (outcome, rationale), ``evalpage.decision.not_registered`` (a "go" for a
        candidate that is not in the registry: register it first), ``evalpage.decision.pick_version``,
        ``evalpage.decision.other_candidate``.
    ConflictError
        ``tracking.changed_meanwhile`` when the version changed since the form was shown.
    """
    require(session=session, user=actor, action="evaluation.decide", project_id=project_id)
    context = decision_context(session=session, store=store, project_id=project_id, candidate_id=candidate_id)
    decision = make_deploy_decision(
        outcome,
        rationale=rationale,
        decided_by=actor.display_name or actor.name,
        decided_at=utcnow(),
        checks=context.checks,
    )
    version: ModelVersionRecord | None = None
    if model_version_id is not None:
        from mlcore.modeling.tracking import get_model_version

        version = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
        if version.candidate_id != candidate_id:
            raise InputError("evalpage.decision.other_candidate", ref=version.ref, candidate=context.label)
    elif decision.outcome == "go":
        if not context.versions:
            raise InputError("evalpage.decision.not_registered", candidate=context.label)
        if len(context.versions) > 1:
            raise InputError("evalpage.decision.pick_version", refs=", ".join(v.ref for v in context.versions))
        version = context.versions[0]
    if version is not None and expected_version is not None and version.version != expected_version:
        raise ConflictError("tracking.changed_meanwhile", what=version.ref)
    row = ModelDeployDecision(
        project_id=project_id,
        candidate_id=candidate_id,
        model_version_id=None if version is None else version.id,
        outcome=decision.outcome,
        rationale=decision.rationale,
        recommendation=context.checks.recommendation,
        overrides=decision.overrides_recommendation,
        checks=_checks_json(context.checks),
        decided_by_id=actor.id or 0,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="evaluation.decide",
        object_type="run_candidate",
        object_id=candidate_id,
        project_id=project_id,
        after={
            "outcome": decision.outcome,
            "recommendation": context.checks.recommendation,
            "overrides": decision.overrides_recommendation,
            "model": "" if version is None else version.ref,
            "failed": ", ".join(c.criterion for c in context.checks.by_status("fail")),
            "unknown": ", ".join(c.criterion for c in context.checks.by_status("unknown")),
        },
        reason=decision.rationale,
    )
    if decision.outcome == "go" and version is not None and version.stage != "production":
        row.replaced_version_id = _promote(
            session,
            actor=actor,
            project_id=project_id,
            version=version,
            reason=decision.rationale,
            decision_id=row.id or 0,
        )
        row.promoted = True
        session.add(row)
        session.flush()
    return deploy_decisions(session=session, project_id=project_id, candidate_id=candidate_id)[0]


# --------------------------------------------------------------------------- report and model card


def _caveats(context: DecisionContext, stress: StressResult | None, lang: str) -> list[str]:
    out = []
    if context.test_metrics is None:
        out.append(_t("evalpage.caveat.no_test", lang))
    elif context.use_number is not None and context.use_number > 1:
        out.append(_t("evalpage.caveat.test_reused", lang, count=context.use_number))
    if context.canvas_source == "draft":
        out.append(_t("evalpage.caveat.draft_canvas", lang))
    for column, error in context.fairness_errors:
        out.append(_t("evalpage.caveat.fairness_error", lang, column=column, reason=error.message(lang)))
    if stress is not None:
        r = stress.robustness
        primary = r.metrics[0]
        worst = r.frame[(r.frame["metric"] == primary) & (r.frame["perturbation"] != "none")]
        if not worst.empty and worst["degradation"].notna().any():
            row = worst.loc[worst["degradation"].idxmax()]
            out.append(
                _t(
                    "evalpage.caveat.robustness",
                    lang,
                    perturbation=_t(f"evaluation.perturbation.{row['perturbation']}", lang),
                    level=f"{float(row['level']):g}",
                    metric=_t(f"planning.metric.{primary}", lang),
                    drop=f"{float(row['degradation']):.3f}",
                )
            )
    return out


def _stored_stress(session: Session, store: ArtifactStore, project_id: int, candidate_id: int) -> StressResult | None:
    found = latest_evaluations(session=session, project_id=project_id, candidate_ids=[candidate_id], kind="stress")
    return read_stress(store=store, record=found[candidate_id]) if candidate_id in found else None


def _title(context: DecisionContext) -> str:
    return context.versions[0].ref if context.versions else context.label


def evaluation_report_data(
    *, session: Session, store: ArtifactStore, project_id: int, candidate_id: int, lang: str = "en"
) -> EvaluationReportData:
    """The evaluation report of a candidate, from what was stored: its run's leaderboard and comparisons,
    the locked test set with the baseline, the threshold and its cost, stress tests, fairness, speed, the
    criteria and the newest decision. Parts not measured yet are left out (and said so in the caveats).

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    context = decision_context(
        session=session, store=store, project_id=project_id, candidate_id=candidate_id, lang=lang
    )
    return _report_data(session, store, context, _stored_stress(session, store, project_id, candidate_id), lang)


def _report_data(
    session: Session, store: ArtifactStore, context: DecisionContext, stress: StressResult | None, lang: str
) -> EvaluationReportData:
    project_id, candidate_id = context.run.project_id, context.candidate.id
    comparison = compare_runs(session=session, project_id=project_id, run_ids=[context.run.id], lang=lang)
    stored = _best_predictions(session, store, project_id, candidate_id)
    threshold = None
    if stored is not None and stored.binary:
        cut = context.threshold if context.threshold is not None else DEFAULT_THRESHOLD
        threshold = threshold_metrics(
            stored.predictions, cut, costs=project_costs(session=session, project_id=project_id)
        )
    decisions = deploy_decisions(session=session, project_id=project_id, candidate_id=candidate_id, lang=lang)
    return EvaluationReportData(
        title=_title(context),
        model_name=_t(f"modeling.family.{context.candidate.family}", lang),
        target=context.run.target,
        dataset_version=f"{context.run.version_label} ({context.run.dataset_sha256[:12]})",
        test_rows=context.test_rows,
        test_metrics=dict(context.test_metrics or {}),
        baseline_metrics=dict(context.baseline_metrics or {}),
        leaderboard=comparison.board,
        comparisons=comparison.comparisons,
        threshold=threshold,
        robustness=None if stress is None else stress.robustness,
        slices=() if stress is None or stress.slices is None else (stress.slices,),
        other_versions=() if stress is None else stress.other,
        fairness=context.fairness,
        performance=context.performance,
        checks=context.checks,
        decision=decisions[0].as_decision() if decisions else None,
        expert_concerns=expert_concerns(session=session, project_id=project_id, candidate_id=candidate_id, lang=lang),
        caveats=tuple(_caveats(context, stress, lang)),
        generated_at=utcnow(),
    )


def evaluation_report(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    candidate_id: int,
    lang: str = "en",
    fmt: Literal["markdown", "html"] = "markdown",
) -> str:
    """The evaluation report as Markdown or print-friendly HTML (see :func:`evaluation_report_data`).

    Raises
    ------
    InputError
        ``evalpage.bad_format``, ``evaluation.report.unknown_language``.
    """
    if fmt not in ("markdown", "html"):
        raise InputError("evalpage.bad_format", fmt=str(fmt)[:20])
    data = evaluation_report_data(
        session=session, store=store, project_id=project_id, candidate_id=candidate_id, lang=lang
    )
    return render_report_markdown(data, lang=lang) if fmt == "markdown" else render_report_html(data, lang=lang)


def evaluation_card_sections(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    candidate_id: int,
    lang: str = "en",
    intended_use: str | None = None,
    caveats: Sequence[str] = (),
    explanations: Sequence[str] = (),
    concerns: Sequence[str] | None = None,
) -> ModelCardSections:
    """The model card's evaluation sections for a candidate, from stored artifacts (for the model card
    download here, and for the model package export).

    Parameters
    ----------
    intended_use : str, optional
        Default: the canvas's objective, who uses the predictions and what they do with them.
    caveats : sequence of str
        Added after the caveats the evaluation itself finds (test set not used or reused, draft canvas,
        fairness not computable, the largest drop under perturbation).
    explanations : sequence of str
        From the interpretation stage, when it has run.
    concerns : sequence of str, optional
        Default: the domain experts' open concerns (:func:`expert_concerns`).

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    context = decision_context(
        session=session, store=store, project_id=project_id, candidate_id=candidate_id, lang=lang
    )
    stress = _stored_stress(session, store, project_id, candidate_id)
    if concerns is None:
        concerns = expert_concerns(session=session, project_id=project_id, candidate_id=candidate_id, lang=lang)
    return _card_sections(context, stress, lang, intended_use, caveats, explanations, concerns)


def _card_sections(
    context: DecisionContext,
    stress: StressResult | None,
    lang: str,
    intended_use: str | None,
    caveats: Sequence[str] = (),
    explanations: Sequence[str] = (),
    expert_concerns: Sequence[str] = (),
) -> ModelCardSections:
    canvas, run = context.canvas, context.run
    if intended_use is None:
        parts = [
            canvas.business_objective,
            _t("evalpage.card.users", lang, users=canvas.prediction_users) if canvas.prediction_users else None,
            _t("evalpage.card.action", lang, action=canvas.prediction_action) if canvas.prediction_action else None,
        ]
        intended_use = "\n".join(p for p in parts if p)
    data = _t(
        "evalpage.card.data",
        lang,
        version=run.version_label,
        train=f"{run.n_train_rows:,}",
        test=f"{run.n_test_rows:,}",
        target=run.target,
        features=", ".join(run.features[:30]) + (" …" if len(run.features) > 30 else ""),
    )
    return ModelCardSections(
        title=_title(context),
        intended_use=intended_use,
        data=data,
        dataset_version=f"{run.version_label} · SHA-256 {run.dataset_sha256[:12]}",
        test_metrics=dict(context.test_metrics or {}),
        baseline_metrics=dict(context.baseline_metrics or {}),
        slices=() if stress is None or stress.slices is None else (stress.slices,),
        fairness=context.fairness,
        explanations=tuple(explanations),
        caveats=(*_caveats(context, stress, lang), *caveats),
        expert_concerns=tuple(expert_concerns),
    )


def expert_concerns(*, session: Session, project_id: int, candidate_id: int, lang: str = "en") -> tuple[str, ...]:
    """The domain experts' open concerns about a candidate's learned effects (implausible or unsure),
    one plain-text line each, implausible first (escaped by the report renderers)."""
    from mlcore.modeling.explain_records import open_concerns

    return tuple(c.text(lang) for c in open_concerns(session=session, project_id=project_id, candidate_id=candidate_id))


def model_card(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    candidate_id: int,
    lang: str = "en",
    fmt: Literal["markdown", "html"] = "markdown",
) -> str:
    """The model card (evaluation sections) as Markdown or print-friendly HTML.

    Raises
    ------
    InputError
        ``evalpage.bad_format``, ``evaluation.report.unknown_language``.
    """
    if fmt not in ("markdown", "html"):
        raise InputError("evalpage.bad_format", fmt=str(fmt)[:20])
    card = evaluation_card_sections(
        session=session, store=store, project_id=project_id, candidate_id=candidate_id, lang=lang
    )
    return render_card_markdown(card, lang=lang) if fmt == "markdown" else render_card_html(card, lang=lang)


@dataclass(frozen=True)
class EvaluationDocuments:
    """The evaluation report and the model card of one candidate, each as Markdown and as HTML."""

    report_markdown: str
    report_html: str
    card_markdown: str
    card_html: str


def evaluation_documents(
    *, session: Session, store: ArtifactStore, project_id: int, candidate_id: int, lang: str = "en"
) -> EvaluationDocuments:
    """Both documents of :func:`evaluation_report` and :func:`model_card` in both formats, reading the
    stored results once (what the download page needs).

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    InputError
        ``evaluation.report.unknown_language``.
    """
    context = decision_context(
        session=session, store=store, project_id=project_id, candidate_id=candidate_id, lang=lang
    )
    stress = _stored_stress(session, store, project_id, candidate_id)
    report = _report_data(session, store, context, stress, lang)
    concerns = expert_concerns(session=session, project_id=project_id, candidate_id=candidate_id, lang=lang)
    card = _card_sections(context, stress, lang, None, expert_concerns=concerns)
    return EvaluationDocuments(
        report_markdown=render_report_markdown(report, lang=lang),
        report_html=render_report_html(report, lang=lang),
        card_markdown=render_card_markdown(card, lang=lang),
        card_html=render_card_html(card, lang=lang),
    )
