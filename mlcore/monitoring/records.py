"""Monitoring records: drift references cached per model, the ``drift`` job and the drift reports it
stores (per scored batch or per dataset version), real outcomes imported and matched to stored
predictions, performance over time against the success criterion, alert rules and the alert history,
the resources jobs used, and retraining: a challenger trained from the champion's configuration on
newer data, compared with it on the same recent labelled rows (the ``challenger`` job) and promoted
with an approval.

The computations live in :mod:`mlcore.monitoring.drift`, :mod:`~mlcore.monitoring.performance`,
:mod:`~mlcore.monitoring.alerts` and :mod:`~mlcore.monitoring.resources`; this module reads what the
other stages stored, runs the slow parts as jobs, stores the results (one transaction each) and
records who did what. Figures and tables for the pages are built here too.

Recording drift while a batch is scored
---------------------------------------
The batch-scoring job measures drift on the rows it scores, chunk by chunk::

    drift = batch_drift_for_model(session=s, store=store, project_id=p, model_version_id=mv)
    for chunk in chunks:                   # the input rows, before or after scoring
        drift.update(chunk, scores=scores)  # the stored ``Prediction.score`` of those rows
    record_batch_drift(session=s, project_id=p, batch_id=batch_id, report=drift.report(batch=key, time=when))
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Limits, Settings
from mlcore.data.understanding import version_roles
from mlcore.data.versions import VersionSummary, get_version, list_versions, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, MLCoreError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobContext, job_kind
from mlcore.monitoring.alerts import (
    SEVERITIES,
    Alert,
    DriftRule,
    FailedJobRule,
    JobRecord,
    MetricRule,
    MonitoringState,
    ResourceRule,
    Rule,
    StaleBatchRule,
    default_rules,
    evaluate_alerts,
    exit_code,
    rule_from_dict,
    rule_to_dict,
)
from mlcore.monitoring.drift import (
    MIN_REFERENCE_ROWS,
    STATUSES,
    DriftAccumulator,
    DriftReference,
    DriftReport,
    DriftThresholds,
    FeatureDrift,
    build_reference,
    drift_history,
)
from mlcore.monitoring.performance import (
    PerformanceOverTime,
    _canonical,
    match_outcomes,
    performance_over_time,
)
from mlcore.monitoring.resources import MEASURES, ResourceRecord, ResourceTrends, resource_trends
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.planning.canvas import metric_direction
from mlcore.store.engine import session_scope
from mlcore.store.models import Job, User, utcnow
from mlcore.store.models_deployment import Prediction, PredictionBatch
from mlcore.store.models_modeling import ModelVersion, RunCandidate
from mlcore.store.models_monitoring import (
    AlertEvent,
    AlertRuleSet,
    ChallengerComparison,
    DriftRecord,
    DriftReferenceCache,
    Outcome,
    OutcomeImport,
    RetrainRequest,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "CHUNK_ROWS",
    "MAX_OUTCOME_ROWS",
    "PREDICTION_NAME",
    "AlertCheck",
    "AlertEventView",
    "AlertRules",
    "BatchDrift",
    "ComparisonView",
    "DriftRecordView",
    "OutcomeImportView",
    "RetrainView",
    "RulesForm",
    "ScorableBatch",
    "alert_events",
    "alert_history_frame",
    "alert_rules",
    "alerts_frame",
    "batch_drift_for_model",
    "challenger_spec",
    "champions",
    "check_alerts",
    "compare_job",
    "comparison_frame",
    "comparisons",
    "criterion",
    "drift_bins_figure",
    "drift_history_frame",
    "drift_job",
    "drift_records",
    "drift_records_frame",
    "drift_table",
    "drift_trend_figure",
    "get_drift_record",
    "import_outcomes",
    "job_resources",
    "matched_outcomes",
    "model_choices",
    "monitoring_state",
    "newer_versions",
    "outcome_imports",
    "outcome_imports_frame",
    "performance_figure",
    "performance_for",
    "performance_frame",
    "promote_challenger",
    "read_outcome_file",
    "record_batch_drift",
    "reference_for_model",
    "resource_figure",
    "resources_frame",
    "retrain_frame",
    "retrain_requests",
    "rules_form",
    "rules_frame",
    "rules_from_form",
    "save_alert_rules",
    "scorable_batches",
    "spec_frame",
    "submit_challenger",
    "submit_comparison",
    "submit_drift",
    "version_outcome_frame",
    "versions_with_column",
]

CHUNK_ROWS = 50_000
"""Rows read, scored and counted at a time by the drift job."""
MAX_OUTCOME_ROWS = 5_000_000
"""Most outcome rows one import may hold."""
PREDICTION_NAME = "prediction"
"""Name of the model's scores in a drift reference (unless a feature already has that name)."""
MAX_RULES = 50
MAX_REASON = 2000
MAX_HISTORY = 200
_SCAN_ROWS = 100_000  # predictions read from the database at a time
_DELETE_IDS = 500  # ids per DELETE ... IN (...) statement
_EXAMPLE_KEYS = 10
_SIMILAR = 0.005  # a challenger within this of the champion (metric units) is "similar"
_TEXT_EXCLUSION = "tracking.excluded.text"
_STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}


# --------------------------------------------------------------------------- small helpers


def _t(key: str, lang: str, **params: Any) -> str:
    return translate(key, lang, **params)


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.name) if user is not None else ""


def _actor(session: Session, actor_id: int, action: str, project_id: int) -> User:
    return require(session=session, user=session.get(User, actor_id), action=action, project_id=project_id)


def _aware(moment: datetime | None) -> datetime | None:
    """Times read back from SQLite may be naive; they are UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json_float(value: float) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _int_id(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) <= 0:
        raise InputError("monitor.bad_id", name=name, value=_short(value, 40))
    return int(value)


_version_in_project = version_in_project


def _scorer(pipeline: Any) -> Any:
    """The scorer batch scoring uses, so reference and batch scores mean the same thing.

    A two-class model whose classes are not numbers has no default positive class there; the
    second class (scikit-learn's "positive" side) is taken here.
    """
    from mlcore.deploy.batch import _make_scorer

    try:
        return _make_scorer(pipeline, None, None)
    except InputError as exc:
        if exc.key != "deploy.positive_class_required":
            raise
        return _make_scorer(pipeline, list(pipeline.classes_)[-1], None)


def _scores(pipeline: Any, scorer: Any, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    return np.asarray(scorer(pipeline, frame).score, dtype=np.float64)


def _chunks(table: pa.Table, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    for batch in table.to_batches(max_chunksize=rows):
        yield pa.Table.from_batches([batch]).to_pandas(date_as_object=False)


# --------------------------------------------------------------------------- drift references


def _prediction_name(columns: Iterable[str]) -> str:
    names = set(columns)
    name = PREDICTION_NAME
    while name in names:
        name = f"{name}_"
    return name


def _build_reference(
    session: Session, store: ArtifactStore, project_id: int, candidate_id: int
) -> tuple[DriftReference, list[str], list[str]]:
    """The reference of a candidate: its training rows (the locked test rows left out) on the model's
    features and on the free-text columns no model reads; its scores on the locked test rows (unseen
    by the model, so not over-confident) as the reference of prediction drift."""
    from mlcore.modeling.tracking import (
        _labelled,
        _training_rows,
        get_candidate,
        load_model,
        read_test_rows,
        run_detail,
    )

    candidate = get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    run = run_detail(session=session, project_id=project_id, run_id=candidate.run_id).run
    version = get_version(session=session, version_id=run.version_id)
    frame, y, _ = _labelled(read_version(store=store, version=version), run.target)
    test_rows = read_test_rows(store=store, run=run)
    X, _ = _training_rows(frame, y, target=run.target, test_rows=test_rows)
    features = [f for f in run.features if f in X.columns]
    optional = [
        e.column
        for e in run.excluded
        if e.reason == _TEXT_EXCLUSION and e.column in X.columns and e.column != run.target
    ]
    if len(X) < MIN_REFERENCE_ROWS:
        raise InputError("monitor.reference.too_few_rows", rows=len(X), minimum=MIN_REFERENCE_ROWS)
    roles = {**version_roles(version), **run.roles}
    reference = build_reference(X[features + optional], roles=roles)
    pipeline = load_model(session=session, store=store, candidate_id=candidate_id, project_id=project_id)
    scorer = _scorer(pipeline)
    unseen = frame.loc[frame.index.isin(test_rows)]
    rows = unseen if len(unseen) >= MIN_REFERENCE_ROWS else X  # too few test rows: training rows will do
    name = _prediction_name(X.columns)
    scores = pd.Series(_scores(pipeline, scorer, rows[features]), name=name)
    scored = build_reference(pd.DataFrame({name + "_": np.zeros(len(scores))}), roles={}, prediction=scores)
    return replace(reference, prediction=scored.prediction), features, optional


def _cached_reference(
    session: Session, store: ArtifactStore, project_id: int, candidate_id: int
) -> tuple[DriftReference, tuple[str, ...]]:
    candidate = session.get(RunCandidate, candidate_id)
    if candidate is None:
        raise NotFound("tracking.candidate_not_found", candidate_id=candidate_id)
    conditions = (
        DriftReferenceCache.project_id == project_id,
        DriftReferenceCache.model_sha256 == candidate.model_sha256,
    )
    row = session.exec(select(DriftReferenceCache).where(*conditions)).first()
    if row is None:
        reference, features, optional = _build_reference(session, store, project_id, candidate_id)
        ref = store.put_bytes(reference.to_json().encode("utf-8"))
        try:
            with session.begin_nested():
                register_artifact(session=session, ref=ref, kind="json", actor_id=None)
                session.add(
                    DriftReferenceCache(
                        project_id=project_id,
                        model_sha256=candidate.model_sha256,
                        candidate_id=candidate_id,
                        artifact_sha256=ref.sha256,
                        n_rows=reference.n_rows,
                        features=features,
                        optional_features=optional,
                    )
                )
        except IntegrityError:  # built at the same moment by another job: use theirs
            row = session.exec(select(DriftReferenceCache).where(*conditions)).first()
            if row is None:
                raise
        else:
            return reference, tuple(optional)
    reference = DriftReference.from_json(store.read_bytes(row.artifact_sha256))
    return reference, tuple(row.optional_features)


def reference_for_model(
    *, session: Session, store: ArtifactStore, project_id: int, candidate_id: int
) -> DriftReference:
    """The training reference drift is measured against for a model, built once and cached by model file.

    Built from the candidate's training rows (its locked test rows left out), on the model's
    features and on the free-text columns that no model reads but that often explain a change
    (complaints, notes; compared only when a batch has them). Prediction drift compares with the
    model's scores on the locked test rows. The reference is stored as a JSON artifact and found
    again by the model file's SHA-256, so the rows are read only the first time.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found`` (also for a candidate of another project).
    InputError
        ``monitor.reference.too_few_rows`` when the model learned from fewer than 20 rows, and
        the errors of loading the model (``modeling.env_mismatch``).
    """
    from mlcore.modeling.tracking import get_candidate

    get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    return _cached_reference(session, store, project_id, candidate_id)[0]


class BatchDrift:
    """The drift of one batch measured chunk by chunk, against a model's reference.

    Features the model does not read (free text) are compared only when the batch has them; a model
    feature missing from the batch is reported as missing (an alert). Pass each chunk's scores (the
    values stored as ``Prediction.score``) to measure prediction drift too.

    Parameters
    ----------
    reference : DriftReference
    optional : sequence of str
        Features left out when the first chunk does not have them.
    thresholds : DriftThresholds, optional

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = build_reference(pd.DataFrame({"x": rng.normal(size=200), "note": ["a", "b"] * 100}),
    ...                       roles={"note": "text"}, prediction=pd.Series(rng.random(200), name="prediction"))
    >>> drift = BatchDrift(ref, optional=["note"])
    >>> _ = drift.update(pd.DataFrame({"x": rng.normal(size=200) + 2}), scores=rng.random(200))
    >>> report = drift.report(batch="b1")
    >>> report.status, report.drifted(), report.prediction.status
    ('alert', ('x',), 'ok')
    """

    def __init__(
        self, reference: DriftReference, *, optional: Sequence[str] = (), thresholds: DriftThresholds | None = None
    ) -> None:
        if not isinstance(reference, DriftReference):
            raise InputError("monitoring.drift.not_a_reference", type=_short(type(reference).__name__))
        self.reference = reference
        self.optional = frozenset(optional)
        self.thresholds = thresholds
        self._acc: DriftAccumulator | None = None
        self._boolean = tuple(f.name for f in reference.features if f.role == "boolean")

    @property
    def prediction_column(self) -> str | None:
        return self.reference.prediction.name if self.reference.prediction is not None else None

    @property
    def n_rows(self) -> int:
        return 0 if self._acc is None else self._acc.n_rows

    def update(self, chunk: pd.DataFrame, *, scores: npt.ArrayLike | None = None) -> BatchDrift:
        """Count one chunk (and its scores, one per row); returns ``self``."""
        if not isinstance(chunk, pd.DataFrame):
            raise InputError("monitoring.not_a_frame", type=_short(type(chunk).__name__))
        if self._acc is None:
            present = set(chunk.columns)
            kept = tuple(f for f in self.reference.features if f.name in present or f.name not in self.optional)
            self._acc = DriftAccumulator(replace(self.reference, features=kept), thresholds=self.thresholds)
        chunk = _booleans(chunk, self._boolean)
        name = self.prediction_column
        if scores is not None and name is not None:
            values = np.asarray(scores, dtype=np.float64).reshape(-1)
            if len(values) != len(chunk):
                raise InputError("monitoring.reference.prediction_length", values=len(values), rows=len(chunk))
            chunk = chunk.assign(**{name: values})
        self._acc.update(chunk)
        return self

    def report(self, *, batch: str | None = None, time: datetime | None = None) -> DriftReport:
        """The drift of every chunk so far (``monitoring.drift.empty_batch`` if there was none)."""
        if self._acc is None:
            raise InputError("monitoring.drift.empty_batch")
        return self._acc.report(batch=batch, time=time)


def _booleans(chunk: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Boolean features given as words (``yes``/``no``, ``sí``, ``verdadero``…) read as True/False, as the
    data import reads them: a CSV batch says "yes" where the stored training version holds True."""
    from mlcore.data.ingest import _FALSE_WORDS, _TRUE_WORDS

    changed: dict[str, pd.Series] = {}
    for name in names:
        if name not in chunk.columns or pd.api.types.is_bool_dtype(chunk[name].dtype):
            continue
        column = chunk[name]
        if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
            continue
        words = column.astype(str).str.strip().str.lower()
        mapped = column.astype(object).where(~words.isin(_TRUE_WORDS), True)
        changed[name] = mapped.where(~words.isin(_FALSE_WORDS), False)
    return chunk.assign(**changed) if changed else chunk


def batch_drift_for_model(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    model_version_id: int | None = None,
    candidate_id: int | None = None,
    thresholds: DriftThresholds | None = None,
) -> BatchDrift:
    """A :class:`BatchDrift` against the reference of a registered model version (or of a candidate).

    Raises
    ------
    NotFound
        ``tracking.model_version_not_found``, ``tracking.candidate_not_found``.
    InputError
        ``monitor.bad_id`` when neither is given, and those of :func:`reference_for_model`.
    """
    from mlcore.modeling.tracking import get_candidate, get_model_version

    if model_version_id is not None:
        candidate_id = get_model_version(
            session=session, project_id=project_id, model_version_id=model_version_id
        ).candidate_id
    if candidate_id is None:
        raise InputError("monitor.bad_id", name="model_version_id", value="—")
    get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    reference, optional = _cached_reference(session, store, project_id, candidate_id)
    return BatchDrift(reference, optional=optional, thresholds=thresholds)


# --------------------------------------------------------------------------- drift records


@dataclass(frozen=True)
class DriftRecordView:
    """One stored drift report.

    Attributes
    ----------
    id, project_id : int
    model_version_id : int or None
    model_ref : str
        ``churn@2`` (empty when the version is gone).
    candidate_id : int
    batch_id, dataset_version_id : int or None
        What was compared: a scored batch or a dataset version.
    label : str
        The batch key or the version label.
    status : {"ok", "warn", "alert"}
    n_rows : int
    drifted : tuple of str
    observed_at : datetime
        When the batch was scored, or the version created.
    created_by : str
        Empty when recorded by the scoring job itself.
    created_at : datetime
    job_id : int or None
    report : DriftReport
    """

    id: int
    project_id: int
    model_version_id: int | None
    model_ref: str
    candidate_id: int
    batch_id: int | None
    dataset_version_id: int | None
    label: str
    status: str
    n_rows: int
    drifted: tuple[str, ...]
    observed_at: datetime
    created_by: str
    created_at: datetime
    job_id: int | None
    report: DriftReport

    @property
    def kind(self) -> str:
        return "batch" if self.batch_id is not None else "version"


def _model_refs(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    from mlcore.modeling.tracking import _version_records

    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {v.id: v.ref for v in _version_records(session, col(ModelVersion.id).in_(wanted))}


def _record_view(session: Session, row: DriftRecord, refs: Mapping[int, str]) -> DriftRecordView:
    return DriftRecordView(
        id=row.id or 0,
        project_id=row.project_id,
        model_version_id=row.model_version_id,
        model_ref=refs.get(row.model_version_id or 0, ""),
        candidate_id=row.candidate_id,
        batch_id=row.batch_id,
        dataset_version_id=row.dataset_version_id,
        label=row.label,
        status=row.status,
        n_rows=row.n_rows,
        drifted=tuple(row.drifted),
        observed_at=_aware(row.observed_at) or row.observed_at,
        created_by=_user_name(session, row.created_by_id),
        created_at=_aware(row.created_at) or row.created_at,
        job_id=row.job_id,
        report=DriftReport.from_dict(row.report),
    )


def _save_drift(
    session: Session,
    *,
    project_id: int,
    report: DriftReport,
    candidate: RunCandidate,
    model_version_id: int | None,
    batch_id: int | None,
    dataset_version_id: int | None,
    label: str,
    observed_at: datetime,
    job_id: int | None,
    created_by_id: int | None,
) -> DriftRecord:
    row = DriftRecord(
        project_id=project_id,
        model_version_id=model_version_id,
        candidate_id=candidate.id or 0,
        model_sha256=candidate.model_sha256,
        batch_id=batch_id,
        dataset_version_id=dataset_version_id,
        label=_short(label, 300),
        status=report.status,
        n_rows=report.n_rows,
        n_alert=len(report.drifted("alert")),
        n_warn=len(report.drifted("warn")) - len(report.drifted("alert")),
        drifted=list(report.drifted()),
        report=report.to_dict(),
        observed_at=observed_at,
        job_id=job_id,
        created_by_id=created_by_id,
    )
    session.add(row)
    session.flush()
    return row


def record_batch_drift(*, session: Session, project_id: int, batch_id: int, report: DriftReport) -> DriftRecordView:
    """Store the drift report of a scored batch (called by the batch-scoring job, in its own transaction).

    The batch may still be ``writing`` (the report is stored with it and shown once it is complete).

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``, ``tracking.model_version_not_found``.
    InputError
        ``monitoring.drift.not_a_report``.
    """
    from mlcore.modeling.tracking import get_model_version

    if not isinstance(report, DriftReport):
        raise InputError("monitoring.drift.not_a_report", type=_short(type(report).__name__))
    batch = session.get(PredictionBatch, batch_id)
    if batch is None or batch.project_id != project_id:
        raise NotFound("deploy.batch_not_found", batch_id=batch_id)
    version = get_model_version(session=session, project_id=project_id, model_version_id=batch.model_version_id)
    candidate = session.get(RunCandidate, version.candidate_id)
    assert candidate is not None
    observed = report.time or batch.completed_at or batch.created_at
    row = _save_drift(
        session,
        project_id=project_id,
        report=report if report.batch else replace(report, batch=batch.batch_key, time=observed),
        candidate=candidate,
        model_version_id=batch.model_version_id,
        batch_id=batch_id,
        dataset_version_id=None,
        label=batch.batch_key,
        observed_at=observed,
        job_id=None,
        created_by_id=batch.created_by_id,
    )
    return _record_view(session, row, {version.id: version.ref})


def drift_records(
    *, session: Session, project_id: int, model_version_id: int | None = None, limit: int = MAX_HISTORY
) -> list[DriftRecordView]:
    """The project's drift reports, newest first (of one model version if given).

    Reports of batches that are not (or no longer) complete are left out.
    """
    stmt = select(DriftRecord).where(DriftRecord.project_id == project_id)
    if model_version_id is not None:
        stmt = stmt.where(DriftRecord.model_version_id == model_version_id)
    rows = session.exec(
        stmt.order_by(col(DriftRecord.created_at).desc(), col(DriftRecord.id).desc()).limit(max(1, min(limit, 1000)))
    ).all()
    batch_ids = [r.batch_id for r in rows if r.batch_id is not None]
    complete: set[int] = set()
    if batch_ids:
        complete = {
            int(i)
            for i in session.exec(
                select(PredictionBatch.id).where(
                    col(PredictionBatch.id).in_(batch_ids), col(PredictionBatch.status) == "complete"
                )
            ).all()
            if i is not None
        }
    rows = [r for r in rows if r.batch_id is None or r.batch_id in complete]
    refs = _model_refs(session, [r.model_version_id for r in rows])
    return [_record_view(session, r, refs) for r in rows]


def get_drift_record(*, session: Session, project_id: int, drift_id: int) -> DriftRecordView:
    """One stored drift report of the project (``monitor.drift.not_found`` otherwise)."""
    row = session.get(DriftRecord, drift_id)
    if row is None or row.project_id != project_id:
        raise NotFound("monitor.drift.not_found", drift_id=drift_id)
    return _record_view(session, row, _model_refs(session, [row.model_version_id]))


def _batch_version_id(source: Mapping[str, Any]) -> int | None:
    """The dataset version a batch was scored from, when its source says so."""
    if str(source.get("kind", "")) not in ("version", "dataset_version"):
        return None
    value = source.get("version_id", source.get("dataset_version_id"))
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ScorableBatch:
    """A complete batch of the project, and whether its rows can be read again for drift."""

    id: int
    batch_key: str
    model_version_id: int
    n_rows: int
    completed_at: datetime | None
    version_id: int | None
    has_drift: bool


def scorable_batches(*, session: Session, project_id: int, limit: int = 100) -> list[ScorableBatch]:
    """The project's complete batches, newest first, with the dataset version they came from (if any)."""
    from mlcore.deploy.dashboard import list_batches

    batches = list_batches(session=session, project_id=project_id, limit=limit)
    recorded = set(
        session.exec(
            select(DriftRecord.batch_id).where(
                DriftRecord.project_id == project_id, col(DriftRecord.batch_id).is_not(None)
            )
        ).all()
    )
    return [
        ScorableBatch(
            id=b.id,
            batch_key=b.batch_key,
            model_version_id=b.model_version_id,
            n_rows=b.n_rows,
            completed_at=b.completed_at,
            version_id=_batch_version_id(b.source),
            has_drift=b.id in recorded,
        )
        for b in batches
    ]


def submit_drift(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    actor_id: int,
    model_version_id: int | None = None,
    version_id: int | None = None,
    batch_id: int | None = None,
    launch: bool = True,
) -> int:
    """Queue (and start) the ``drift`` job: a dataset version, or the rows of a scored batch, against
    the training reference of a registered model version; return the job id.

    A batch's rows are read again from the dataset version it was scored from (its ``source`` says
    ``{"kind": "version", "version_id": N}``); batches scored from files or queries have their drift
    measured while they are scored. The result holds ``drift_id``, ``status``, ``label`` and ``n_rows``.

    Raises
    ------
    PermissionDenied
        Without ``monitor.run`` in the project.
    NotFound
        ``tracking.model_version_not_found``, ``errors.version_not_found``, ``deploy.batch_not_found``.
    InputError
        ``monitor.drift.pick_one`` (neither or both of a version and a batch),
        ``monitor.drift.rows_not_kept`` (a batch scored from a file or a query).
    """
    from mlcore.deploy.dashboard import get_batch
    from mlcore.jobs import launch_job, submit_job
    from mlcore.modeling.tracking import get_model_version

    with session_scope(engine) as session:
        _actor(session, actor_id, "monitor.run", project_id)
        if (version_id is None) == (batch_id is None):
            raise InputError("monitor.drift.pick_one")
        if batch_id is not None:
            batch = get_batch(session=session, project_id=project_id, batch_id=_int_id(batch_id, "batch_id"))
            version_id = _batch_version_id(batch.source)
            if version_id is None:
                raise InputError("monitor.drift.rows_not_kept", batch=_short(batch.batch_key))
            model_version_id = batch.model_version_id if model_version_id is None else model_version_id
        if model_version_id is None:
            raise InputError("monitor.drift.pick_model")
        get_model_version(session=session, project_id=project_id, model_version_id=_int_id(model_version_id, "model"))
        _version_in_project(session, project_id, _int_id(version_id, "version_id"))
        params = {
            "project_id": project_id,
            "actor_id": actor_id,
            "model_version_id": int(model_version_id),
            "version_id": int(version_id or 0),
            "batch_id": batch_id,
        }
        job = submit_job(session=session, kind="drift", params=params, actor_id=actor_id, project_id=project_id)
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


@job_kind("drift")
def drift_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: the drift of a dataset version (or of a batch's rows) against a model's reference, stored."""
    from mlcore.deploy.dashboard import get_batch
    from mlcore.modeling.tracking import get_model_version, load_model, run_detail

    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    batch_id = params.get("batch_id")
    ctx.progress(0.02, "monitor.progress.reference")
    with session_scope(ctx.engine) as session:
        _actor(session, actor_id, "monitor.run", project_id)
        model = get_model_version(
            session=session, project_id=project_id, model_version_id=int(params["model_version_id"])
        )
        drift = batch_drift_for_model(
            session=session, store=store, project_id=project_id, candidate_id=model.candidate_id
        )
        pipeline = load_model(session=session, store=store, candidate_id=model.candidate_id, project_id=project_id)
        features = list(run_detail(session=session, project_id=project_id, run_id=model.run_id).run.features)
        version = _version_in_project(session, project_id, int(params["version_id"]))
        label, observed = version.label, version.created_at
        if batch_id is not None:
            batch = get_batch(session=session, project_id=project_id, batch_id=int(batch_id))
            label, observed = batch.batch_key, batch.completed_at or batch.created_at
    table = read_version(store=store, version=version)
    scorer = _scorer(pipeline)
    scoring = set(features) <= set(table.column_names)
    total = max(table.num_rows, 1)
    for chunk in _chunks(table):
        scores = None
        if scoring:
            try:
                scores = _scores(pipeline, scorer, chunk[features])
            except MLCoreError:  # the model cannot read these rows: drift of the features only
                scoring = False
        drift.update(chunk, scores=scores)
        ctx.progress(
            0.05 + 0.85 * drift.n_rows / total, "monitor.progress.rows", rows=drift.n_rows, total=table.num_rows
        )
    report = drift.report(batch=label, time=_aware(observed))
    ctx.progress(0.95, "monitor.progress.saving")
    with session_scope(ctx.engine) as session:
        actor = _actor(session, actor_id, "monitor.run", project_id)
        candidate = session.get(RunCandidate, model.candidate_id)
        assert candidate is not None
        row = _save_drift(
            session,
            project_id=project_id,
            report=report,
            candidate=candidate,
            model_version_id=model.id,
            batch_id=int(batch_id) if batch_id is not None else None,
            dataset_version_id=version.id,
            label=label,
            observed_at=observed,
            job_id=ctx.job_id,
            created_by_id=actor_id,
        )
        record_event(
            session=session,
            actor=actor,
            action="monitor.drift",
            object_type="drift_record",
            object_id=row.id or 0,
            project_id=project_id,
            after={"model": model.ref, "data": label, "status": report.status, "drifted": ", ".join(report.drifted())},
        )
        drift_id = row.id or 0
    with session_scope(ctx.engine) as session:
        check_alerts(session=session, project_id=project_id, source="job")
    ctx.report_rows(report.n_rows)
    return {"drift_id": drift_id, "status": report.status, "label": label, "n_rows": report.n_rows}


# --------------------------------------------------------------------------- drift tables and figures


def _status_text(status: str, lang: str) -> str:
    return _t(f"monitoring.status.{status}", lang)


def drift_records_frame(records: Sequence[DriftRecordView], *, lang: str = "en") -> pd.DataFrame:
    """One row per stored report: what, model, when, rows, verdict, drifted features."""
    return pd.DataFrame(
        [
            {
                _t("monitor.col.id", lang): r.id,
                _t("monitor.col.data", lang): r.label,
                _t("monitor.col.kind", lang): _t(f"monitor.kind.{r.kind}", lang),
                _t("monitor.col.model", lang): r.model_ref,
                _t("monitor.col.observed", lang): f"{r.observed_at:%Y-%m-%d %H:%M}",
                _t("monitor.col.rows", lang): r.n_rows,
                _t("monitor.col.verdict", lang): _status_text(r.status, lang),
                _t("monitor.col.drifted", lang): ", ".join(r.drifted) or "—",
            }
            for r in records
        ],
        columns=[
            _t(f"monitor.col.{c}", lang)
            for c in ("id", "data", "kind", "model", "observed", "rows", "verdict", "drifted")
        ],
    )


def _shown(value: float, kind: str) -> str:
    """A statistic as the table shows it: 3 decimals, p-values below 0.001 as "< 0.001", shares as
    percentages, means with thousands separators; "—" when it does not apply."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if kind == "p":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "number":
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"{value:.3f}"


def drift_table(report: DriftReport, *, lang: str = "en") -> pd.DataFrame:
    """The per-feature statistics of a report for display (as text), worst first; the predictions last.

    Columns: feature, type, verdict, PSI, KS (numeric), KS p-value, chi-squared p-value, JS distance,
    missing share in training and in the batch, unseen share (categorical), mean in training and in
    the batch, and what raised the verdict. The numbers themselves are in :meth:`DriftReport.table`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = build_reference(pd.DataFrame({"x": rng.normal(size=400)}), roles={})
    >>> from mlcore.monitoring.drift import drift_report
    >>> report = drift_report(ref, pd.DataFrame({"x": rng.normal(size=400) + 1}))
    >>> drift_table(report).iloc[0][["Feature", "Verdict", "KS p-value", "Unseen values"]].tolist()
    ['x', 'Strong drift', '< 0.001', '—']
    """
    rows: list[dict[str, Any]] = []
    parts: list[tuple[FeatureDrift, bool]] = [(f, False) for f in report.features]
    if report.prediction is not None:
        parts.append((report.prediction, True))
    for f, is_prediction in parts:
        rows.append(
            {
                "feature": _t("monitor.drift.prediction_row", lang) if is_prediction else f.feature,
                "kind": _t(f"monitor.feature_kind.{f.kind}", lang),
                "status": _status_text(f.status, lang),
                "psi": _shown(f.psi, "stat"),
                "ks": _shown(f.ks, "stat"),
                "ks_pvalue": _shown(f.ks_pvalue, "p"),
                "chi2_pvalue": _shown(f.chi2_pvalue, "p"),
                "js": _shown(f.js, "stat"),
                "missing_reference": _shown(f.missing_share_reference, "share"),
                "missing": _shown(f.missing_share, "share"),
                "unseen": _shown(f.unseen_share, "share"),
                "mean_reference": _shown(f.reference_mean, "number"),
                "mean": _shown(f.batch_mean, "number"),
                "reasons": ", ".join(_t(f"monitoring.reason.{r}", lang) for r in f.reasons) or "—",
                "_order": (
                    1 if is_prediction else 0,
                    -_STATUS_ORDER[f.status],
                    -(f.psi if math.isfinite(f.psi) else 99),
                ),
            }
        )
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    return frame.rename(columns={c: _t(f"monitor.stat.{c}", lang) for c in frame.columns})


def drift_bins_figure(feature: FeatureDrift, *, lang: str = "en") -> go.Figure:
    """Shares of rows per bin, training next to the batch, for one feature."""
    import plotly.graph_objects as go

    labels = feature.bin_labels(lang)
    fig = go.Figure()
    fig.add_bar(name=_t("monitor.figure.training", lang), x=labels, y=list(feature.reference_shares))
    fig.add_bar(name=_t("monitor.figure.batch", lang), x=labels, y=list(feature.batch_shares))
    fig.update_layout(
        barmode="group",
        yaxis_tickformat=".0%",
        yaxis_title=_t("monitor.figure.share", lang),
        margin={"t": 30, "b": 10},
        height=320,
    )
    return fig


def drift_history_frame(records: Sequence[DriftRecordView]) -> pd.DataFrame:
    """:func:`~mlcore.monitoring.drift.drift_history` of stored reports, oldest first."""
    reports = [replace(r.report, batch=r.label, time=r.observed_at.replace(tzinfo=None)) for r in reversed(records)]
    return drift_history(reports)


def drift_trend_figure(
    history: pd.DataFrame,
    *,
    measure: str = "psi",
    thresholds: DriftThresholds | None = None,
    lang: str = "en",
) -> go.Figure:
    """One line per feature (and the predictions) across batches and versions, oldest first, with the
    warning and alert levels of PSI; points that raised a verdict are larger."""
    import plotly.graph_objects as go

    thresholds = thresholds or DriftThresholds()
    fig = go.Figure()
    if not history.empty:
        order = history.drop_duplicates("order")
        labels = [
            f"{b} · {t:%m-%d %H:%M}" if pd.notna(t) else str(b)
            for b, t in zip(order["batch"], order["time"], strict=True)
        ]
        x_of = dict(zip(order["order"], labels, strict=True))
        for (feature, is_prediction), part in history.groupby(["feature", "is_prediction"], sort=False):
            name = _t("monitor.drift.prediction_row", lang) if is_prediction else str(feature)
            sizes = [12 if s != "ok" else 6 for s in part["status"]]
            fig.add_scatter(
                x=[x_of[o] for o in part["order"]],
                y=part[measure].astype(float),
                mode="lines+markers",
                name=name,
                marker={"size": sizes},
            )
        if measure == "psi":
            for level, value in (("warn", thresholds.psi_warn), ("alert", thresholds.psi_alert)):
                fig.add_hline(y=value, line_dash="dash", annotation_text=_status_text(level, lang), line_color="gray")
    fig.update_layout(
        yaxis_title=_t(f"monitor.stat.{measure}", lang), margin={"t": 30, "b": 10}, height=380, xaxis_type="category"
    )
    return fig


# --------------------------------------------------------------------------- delayed labels


@dataclass(frozen=True)
class OutcomeImportView:
    """One import of real outcomes.

    Attributes
    ----------
    id : int
    source : mapping
        ``{"kind": "file", "name": ...}`` or ``{"kind": "version", "version_id": ..., "label": ...}``,
        plus the key and outcome columns used.
    n_rows, n_matched, n_unknown, n_duplicates, n_incomplete, n_replaced : int
        Outcome rows given; matched to a prediction; whose key matches no prediction; repeated
        (same key and outcome, counted once); without a key or an outcome; and earlier outcomes of
        the same predictions replaced by this import.
    unknown_keys : tuple of str
        The first unknown keys.
    n_predictions : int
        Predictions the outcomes were matched against (0 when read back from the database).
    created_by : str
    created_at : datetime
    """

    id: int
    source: Mapping[str, Any]
    n_rows: int
    n_matched: int
    n_unknown: int
    n_duplicates: int
    n_incomplete: int
    n_replaced: int
    unknown_keys: tuple[str, ...]
    n_predictions: int
    created_by: str
    created_at: datetime

    def messages(self, lang: str = "en") -> list[str]:
        """What was matched, and what was left out and why."""
        out = [_t("monitor.outcomes.matched", lang, n_matched=self.n_matched, n_rows=self.n_rows)]
        if self.n_unknown:
            out.append(
                _t("monitoring.outcomes.unknown_keys", lang, n=self.n_unknown, keys=", ".join(self.unknown_keys))
            )
        if self.n_duplicates:
            out.append(_t("monitoring.outcomes.duplicates_dropped", lang, n=self.n_duplicates))
        if self.n_incomplete:
            out.append(_t("monitoring.outcomes.incomplete_rows", lang, n=self.n_incomplete))
        if self.n_replaced:
            out.append(_t("monitor.outcomes.replaced", lang, n=self.n_replaced))
        return out


def _import_view(session: Session, row: OutcomeImport, n_predictions: int = 0) -> OutcomeImportView:
    return OutcomeImportView(
        id=row.id or 0,
        source=dict(row.source),
        n_rows=row.n_rows,
        n_matched=row.n_matched,
        n_unknown=row.n_unknown,
        n_duplicates=row.n_duplicates,
        n_incomplete=row.n_incomplete,
        n_replaced=row.n_replaced,
        unknown_keys=tuple(row.unknown_keys),
        n_predictions=n_predictions,
        created_by=_user_name(session, row.created_by_id),
        created_at=_aware(row.created_at) or row.created_at,
    )


def read_outcome_file(path: Path, *, filename: str, limits: Limits) -> pd.DataFrame:
    """The rows of an uploaded outcomes file (CSV, Parquet or Excel), every column as read.

    Raises
    ------
    InputError
        The reading errors of :func:`mlcore.data.ingest.load_file` (unreadable, too large, ragged rows…),
        ``monitor.outcomes.too_many_rows``.
    """
    from mlcore.data import ingest

    loaded = ingest.load_file(Path(path), filename=filename, limits=limits)
    if loaded.table.num_rows > MAX_OUTCOME_ROWS:
        raise InputError("monitor.outcomes.too_many_rows", rows=loaded.table.num_rows, maximum=MAX_OUTCOME_ROWS)
    return loaded.table.to_pandas(date_as_object=False)


def version_outcome_frame(*, session: Session, store: ArtifactStore, project_id: int, version_id: int) -> pd.DataFrame:
    """The rows of a dataset version of the project, to take outcomes from.

    Raises
    ------
    NotFound
        ``errors.version_not_found``.
    """
    version = _version_in_project(session, project_id, version_id)
    return read_version(store=store, version=version).to_pandas(date_as_object=False)


def _column(frame: pd.DataFrame, name: object, what: str) -> str:
    if not isinstance(name, str) or name not in frame.columns:
        raise InputError("monitor.outcomes.column_missing", what=what, column=_short(name, 80))
    return name


def _project_batches(session: Session, project_id: int, batch_ids: Sequence[int] | None) -> list[PredictionBatch]:
    stmt = select(PredictionBatch).where(PredictionBatch.project_id == project_id, PredictionBatch.status == "complete")
    if batch_ids is not None:
        stmt = stmt.where(col(PredictionBatch.id).in_([int(b) for b in batch_ids]))
    return list(session.exec(stmt.order_by(col(PredictionBatch.id))).all())


def _predictions_for(
    session: Session, batches: Sequence[PredictionBatch], keys: set[str]
) -> tuple[pd.DataFrame, int, list[str]]:
    """The stored predictions whose key is among ``keys`` (one pass over each batch, page by page),
    how many predictions were scanned, and a few keys for messages."""
    from mlcore.deploy.batch import scan_conditions

    parts: list[pd.DataFrame] = []
    scanned = 0
    examples: list[str] = []
    for batch in batches:
        stmt = select(col(Prediction.id), col(Prediction.row_key), col(Prediction.score), col(Prediction.label)).where(
            *scan_conditions(batch.id or 0, batch.first_id, batch.last_id)
        )
        result = session.execute(stmt.execution_options(yield_per=_SCAN_ROWS))
        for page in result.partitions(_SCAN_ROWS):
            frame = pd.DataFrame(page, columns=["prediction_id", "row_key", "score", "label"])
            scanned += len(frame)
            if len(examples) < _EXAMPLE_KEYS:
                examples += frame["row_key"].astype(str).head(_EXAMPLE_KEYS - len(examples)).tolist()
            canonical = _canonical(frame["row_key"])
            wanted = canonical.isin(keys).to_numpy()
            if wanted.any():
                part = frame[wanted].assign(
                    row_key=canonical[wanted].to_numpy(),
                    batch=batch.batch_key,
                    batch_id=batch.id,
                    time=pd.Timestamp(_aware(batch.completed_at) or batch.created_at).tz_convert(None),
                )
                parts.append(part)
    columns = ["prediction_id", "row_key", "score", "label", "batch", "batch_id", "time"]
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return found, scanned, examples


def import_outcomes(
    *,
    engine: Engine,
    project_id: int,
    actor_id: int,
    data: pd.DataFrame,
    key_column: str,
    outcome_column: str,
    batch_column: str | None = None,
    source: Mapping[str, Any] | None = None,
    batch_ids: Sequence[int] | None = None,
) -> OutcomeImportView:
    """Import real outcomes, matched by row key to the predictions of the project's complete batches.

    Matching follows :func:`mlcore.monitoring.performance.match_outcomes`: keys are compared as text
    (``17`` and ``"17"`` are one key); repeated rows with the same outcome count once; outcome keys
    that match no prediction are counted and listed, and the rest is imported; the same key with two
    different outcomes, or a key scored in several batches without a ``batch_column`` to tell them
    apart, is refused. Everything is written in one transaction (an outcome already imported for the
    same prediction is replaced), so a refused or failed import leaves nothing behind.

    Parameters
    ----------
    engine
    project_id, actor_id : int
        Needs ``monitor.labels`` in the project.
    data : pandas.DataFrame
        The outcome rows (a file read by :func:`read_outcome_file`, or a dataset version).
    key_column, outcome_column : str
        The columns holding the row key (as it was scored) and the real outcome.
    batch_column : str, optional
        A column holding the batch key each outcome belongs to.
    source : mapping, optional
        Where the rows came from (kept with the import).
    batch_ids : sequence of int, optional
        Only these batches (default: every complete batch of the project).

    Returns
    -------
    OutcomeImportView

    Raises
    ------
    PermissionDenied
        Without ``monitor.labels`` in the project.
    InputError
        ``monitor.outcomes.column_missing``, ``monitor.outcomes.same_column``,
        ``monitor.outcomes.no_predictions``, ``monitoring.outcomes.empty``,
        ``monitoring.outcomes.conflicting``, ``monitoring.outcomes.no_match``,
        ``monitoring.predictions.duplicate_keys``.
    """
    with session_scope(engine) as session:
        actor = _actor(session, actor_id, "monitor.labels", project_id)
        if not isinstance(data, pd.DataFrame):
            raise InputError("monitoring.not_a_frame", type=_short(type(data).__name__))
        key = _column(data, key_column, "key")
        outcome = _column(data, outcome_column, "outcome")
        if key == outcome:
            raise InputError("monitor.outcomes.same_column", column=_short(key))
        batch = _column(data, batch_column, "batch") if batch_column is not None else None
        if len(data) == 0:
            raise InputError("monitoring.outcomes.empty")
        columns = {"row_key": data[key].to_numpy(dtype=object), "outcome": data[outcome].to_numpy(dtype=object)}
        if batch is not None:
            columns["batch"] = data[batch].to_numpy(dtype=object)
        outcomes = pd.DataFrame(columns)
        wanted = {str(k) for k in _canonical(outcomes["row_key"]).dropna().unique()}
        batches = _project_batches(session, project_id, batch_ids)
        predictions, scanned, examples = _predictions_for(session, batches, wanted)
        if scanned == 0:
            raise InputError("monitor.outcomes.no_predictions")
        if predictions.empty:  # nothing to match: let the matcher name a few keys of both sides
            predictions = pd.DataFrame(
                {"row_key": examples, "score": 0.0, "batch": "", "time": pd.Timestamp("2000-01-01")}
            )
        match = match_outcomes(predictions, outcomes)
        matched = match.matched
        ids = [int(i) for i in matched["prediction_id"]]
        replaced = 0
        for start in range(0, len(ids), _DELETE_IDS):
            part = ids[start : start + _DELETE_IDS]
            replaced += int(
                session.execute(  # type: ignore[attr-defined]
                    delete(Outcome).where(col(Outcome.prediction_id).in_(part))
                ).rowcount
            )
        row = OutcomeImport(
            project_id=project_id,
            source={
                **{str(k): v for k, v in dict(source or {}).items()},
                "key_column": key,
                "outcome_column": outcome,
                "batch_column": batch,
            },
            n_rows=match.n_outcome_rows,
            n_matched=match.n_matched,
            n_unknown=match.n_unknown,
            unknown_keys=list(match.unknown_keys),
            n_duplicates=match.n_duplicates,
            n_incomplete=match.n_incomplete,
            n_replaced=replaced,
            created_by_id=actor.id or 0,
        )
        session.add(row)
        session.flush()
        values = _canonical(matched["outcome"])
        session.execute(
            insert(Outcome),
            [
                {
                    "import_id": row.id,
                    "project_id": project_id,
                    "prediction_id": int(p),
                    "batch_id": int(b),
                    "row_key": _short(k, 300),
                    "outcome": _short(v, 300),
                }
                for p, b, k, v in zip(
                    matched["prediction_id"], matched["batch_id"], matched["row_key"], values, strict=True
                )
            ],
        )
        record_event(
            session=session,
            actor=actor,
            action="monitor.labels",
            object_type="outcome_import",
            object_id=row.id or 0,
            project_id=project_id,
            after={
                "source": _short(row.source.get("name") or row.source.get("label") or "", 200),
                "rows": match.n_outcome_rows,
                "matched": match.n_matched,
                "unknown": match.n_unknown,
                "duplicates": match.n_duplicates,
                "replaced": replaced,
            },
        )
        return _import_view(session, row, n_predictions=scanned)


def outcome_imports(*, session: Session, project_id: int, limit: int = 50) -> list[OutcomeImportView]:
    """The project's outcome imports, newest first."""
    rows = session.exec(
        select(OutcomeImport)
        .where(OutcomeImport.project_id == project_id)
        .order_by(col(OutcomeImport.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    return [_import_view(session, r) for r in rows]


def outcome_imports_frame(imports: Sequence[OutcomeImportView], *, lang: str = "en") -> pd.DataFrame:
    names = ("id", "source", "when", "who", "rows", "matched", "unknown", "duplicates", "replaced")
    return pd.DataFrame(
        [
            [
                i.id,
                str(i.source.get("name") or i.source.get("label") or "—"),
                f"{i.created_at:%Y-%m-%d %H:%M}",
                i.created_by,
                i.n_rows,
                i.n_matched,
                i.n_unknown,
                i.n_duplicates,
                i.n_replaced,
            ]
            for i in imports
        ],
        columns=[_t(f"monitor.imports.{n}", lang) for n in names],
    )


def matched_outcomes(*, session: Session, project_id: int, model_version_id: int | None = None) -> pd.DataFrame:
    """Stored predictions (of complete batches) that have their real outcome.

    Columns ``row_key``, ``time`` (when the batch was scored), ``score``, ``label``, ``batch``
    (batch key), ``model_version_id``, ``outcome``, ``positive_class``; one row per prediction.
    """
    stmt = (
        select(  # type: ignore[call-overload]
            col(Outcome.row_key),
            col(PredictionBatch.completed_at),
            col(Prediction.score),
            col(Prediction.label),
            col(PredictionBatch.batch_key),
            col(PredictionBatch.model_version_id),
            col(Outcome.outcome),
            col(PredictionBatch.positive_class),
            col(PredictionBatch.task_type),
        )
        .join(Prediction, col(Prediction.id) == col(Outcome.prediction_id))
        .join(PredictionBatch, col(PredictionBatch.id) == col(Outcome.batch_id))
        .where(col(Outcome.project_id) == project_id, col(PredictionBatch.status) == "complete")
    )
    if model_version_id is not None:
        stmt = stmt.where(col(PredictionBatch.model_version_id) == model_version_id)
    rows = session.execute(stmt.order_by(col(Outcome.id))).all()
    columns = [
        "row_key",
        "time",
        "score",
        "label",
        "batch",
        "model_version_id",
        "outcome",
        "positive_class",
        "task_type",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if not frame.empty:
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(None)
    return frame


def criterion(*, session: Session, project_id: int) -> tuple[str | None, float | None]:
    """The success criterion (metric and threshold): as signed off at the gate, else the current canvas."""
    from mlcore.planning.records import get_canvas, success_criteria

    signed = success_criteria(session=session, project_id=project_id)
    if signed is not None and signed.metric is not None:
        return signed.metric, signed.threshold
    canvas = get_canvas(session=session, project_id=project_id).canvas
    return canvas.metric, canvas.threshold


def _project_task(session: Session, project_id: int) -> str:
    from mlcore.modeling.tracking import _project

    return _project(session, project_id).task_type


def performance_for(
    *,
    session: Session,
    project_id: int,
    metric: str | None = None,
    period: str = "W",
    model_version_id: int | None = None,
    min_rows: int = 1,
) -> PerformanceOverTime | None:
    """The metric per week, month or batch on predictions whose outcomes were imported, against the
    success criterion (``None`` when no prediction has its outcome yet).

    ``metric`` defaults to the criterion's (else the first usual metric of the project's task); the
    threshold is the criterion's when it is about the same metric.

    Raises
    ------
    InputError
        Those of :func:`mlcore.monitoring.performance.performance_over_time`.
    """
    frame = matched_outcomes(session=session, project_id=project_id, model_version_id=model_version_id)
    if frame.empty:
        return None
    wanted, threshold = criterion(session=session, project_id=project_id)
    task = _project_task(session, project_id)
    valid = CANVAS_METRICS.get(task, ())
    chosen = metric or (wanted if wanted in valid else (valid[0] if valid else "roc_auc"))
    positive = next((p for p in frame["positive_class"] if isinstance(p, str) and p), None)
    if task == "regression":
        frame = frame.drop(columns=["label"])
    return performance_over_time(
        frame.drop(columns=["positive_class", "task_type"]),
        metric=chosen,
        period=period,
        threshold=threshold if chosen == wanted else None,
        pos_label=positive if task != "regression" else None,
        min_rows=min_rows,
    )


def performance_frame(perf: PerformanceOverTime, *, lang: str = "en") -> pd.DataFrame:
    """The periods of a :class:`PerformanceOverTime` for display, oldest first."""
    table = perf.table
    return pd.DataFrame(
        {
            _t("monitor.perf.period", lang): table["period"].astype(str),
            _t("monitor.perf.rows", lang): table["n"].astype(int),
            perf.metric: table["value"].round(4),
            _t("monitor.perf.status", lang): [
                _t(f"monitor.perf.status_{s.replace('/', '')}", lang) for s in table["status"]
            ],
        }
    )


def performance_figure(perf: PerformanceOverTime, *, lang: str = "en") -> go.Figure:
    """The metric per period, the success criterion as a line, failing periods in red."""
    import plotly.graph_objects as go

    table = perf.table
    colors = ["#d62728" if s == "fail" else "#2ca02c" if s == "pass" else "#7f7f7f" for s in table["status"]]
    fig = go.Figure()
    fig.add_scatter(
        x=table["period"].astype(str),
        y=table["value"],
        mode="lines+markers",
        name=perf.metric,
        marker={"color": colors, "size": 10},
        text=[f"n = {n}" for n in table["n"]],
    )
    if perf.threshold is not None:
        fig.add_hline(
            y=perf.threshold,
            line_dash="dash",
            line_color="gray",
            annotation_text=_t("monitor.perf.criterion", lang, threshold=perf.threshold),
        )
    values = [v for v in table["value"].tolist() if math.isfinite(v)] + (
        [perf.threshold] if perf.threshold is not None else []
    )
    if values and min(values) >= 0 and max(values) <= 1:  # a share-like metric: show the whole 0–1 scale
        fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(
        yaxis_title=perf.metric,
        xaxis_title=_t(f"monitor.perf.period_{perf.period.lower()}", lang),
        xaxis_type="category",
        margin={"t": 30, "b": 10},
        height=360,
    )
    return fig


# --------------------------------------------------------------------------- resources of jobs


def job_resources(*, session: Session, project_id: int, limit: int = 500) -> ResourceTrends:
    """Wall and CPU time, peak memory and rows per second of the project's finished jobs, per kind,
    with the latest run of each kind flagged when it is clearly worse than its recent past."""
    rows = session.exec(
        select(Job)
        .where(Job.project_id == project_id, Job.status == "succeeded", col(Job.wall_s).is_not(None))
        .order_by(col(Job.id).desc())
        .limit(max(1, min(limit, 5000)))
    ).all()
    records = [
        ResourceRecord(
            job_id=j.id or 0,
            kind=j.kind,
            finished_at=_aware(j.finished_at or j.created_at) or j.created_at,
            wall_s=j.wall_s,
            cpu_s=j.cpu_s,
            peak_memory_mb=j.peak_memory_mb,
            rows_per_s=j.rows_per_s,
        )
        for j in reversed(rows)
    ]
    return resource_trends(records)


def _measure_text(measure: str, value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if measure == "peak_memory_mb":
        return f"{value:,.0f}"
    if measure == "rows_per_s":
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{value:.2f}"


def resources_frame(trends: ResourceTrends, *, lang: str = "en") -> pd.DataFrame:
    """The latest run of each kind of job: its measures, their recent median, and whether it regressed."""
    table = trends.table
    columns = [_t("monitor.res.kind", lang), _t("monitor.res.job", lang), _t("monitor.res.finished", lang)]
    columns += [_t(f"monitor.res.{m}", lang) for m in MEASURES] + [_t("monitor.res.regressions", lang)]
    if table.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for kind, part in table.groupby("kind", sort=True):
        last_job = part.loc[part["finished_at"].idxmax(), "job_id"]
        latest = part[part["job_id"] == last_job]
        values = {r.measure: r.value for r in latest.itertuples()}
        flagged = [_t(f"monitor.res.{r.measure}", lang) for r in latest.itertuples() if bool(r.regression)]
        out.append(
            [
                _t(f"jobs.kind.{kind}", lang),
                int(last_job),
                f"{pd.Timestamp(latest['finished_at'].iloc[0]):%Y-%m-%d %H:%M}",
                *[_measure_text(m, values.get(m, math.nan)) for m in MEASURES],
                ", ".join(flagged) or "—",
            ]
        )
    return pd.DataFrame(out, columns=columns)


def resource_figure(trends: ResourceTrends, *, measure: str = "wall_s", lang: str = "en") -> go.Figure:
    """One measure over time, one line per kind of job; regressions marked with a red ring."""
    import plotly.graph_objects as go

    if measure not in MEASURES:
        raise InputError("monitoring.resources.bad_option", name="measure", value=_short(measure, 40))
    fig = go.Figure()
    table = trends.table
    part = table[table["measure"] == measure] if not table.empty else table
    for kind, runs in part.groupby("kind", sort=True) if not part.empty else []:
        fig.add_scatter(
            x=runs["finished_at"], y=runs["value"], mode="lines+markers", name=_t(f"jobs.kind.{kind}", lang)
        )
        bad = runs[runs["regression"].astype(bool)]
        if not bad.empty:
            fig.add_scatter(
                x=bad["finished_at"],
                y=bad["value"],
                mode="markers",
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "#d62728", "width": 3}},
                name=_t("monitor.res.regression", lang),
                showlegend=False,
            )
    fig.update_layout(yaxis_title=_t(f"monitor.res.{measure}", lang), margin={"t": 30, "b": 10}, height=340)
    return fig


# --------------------------------------------------------------------------- alert rules


@dataclass(frozen=True)
class AlertRules:
    """A project's alert rules.

    Attributes
    ----------
    rules : tuple of Rule
    version : int
        0 while the project uses the default rules; pass back as ``expected_version``.
    saved : bool
        False: the defaults (:func:`mlcore.monitoring.alerts.default_rules` with the success criterion).
    updated_by : str
    updated_at : datetime or None
    """

    rules: tuple[Rule, ...]
    version: int
    saved: bool
    updated_by: str = ""
    updated_at: datetime | None = None


def _default_rules(session: Session, project_id: int) -> tuple[Rule, ...]:
    metric, threshold = criterion(session=session, project_id=project_id)
    valid = CANVAS_METRICS.get(_project_task(session, project_id), ())
    if metric not in valid or threshold is None:
        metric = threshold = None
    return default_rules(metric=metric, threshold=threshold)


def alert_rules(*, session: Session, project_id: int) -> AlertRules:
    """The project's saved alert rules, or the defaults until someone saves them."""
    row = session.get(AlertRuleSet, project_id)
    if row is None:
        return AlertRules(_default_rules(session, project_id), 0, False)
    session.refresh(row)
    return AlertRules(
        rules=tuple(rule_from_dict(r) for r in row.rules),
        version=row.version,
        saved=True,
        updated_by=_user_name(session, row.updated_by_id),
        updated_at=_aware(row.updated_at),
    )


def save_alert_rules(
    *, session: Session, actor: User, project_id: int, rules: Sequence[Rule], expected_version: int
) -> AlertRules:
    """Replace the project's alert rules (an audit event with before and after).

    Raises
    ------
    PermissionDenied
        Without ``monitor.alerts`` in the project.
    InputError
        ``monitoring.alert.not_a_rule``, ``monitor.alerts.too_many``.
    ConflictError
        ``monitor.alerts.changed_meanwhile`` if someone saved since ``expected_version``.
    """
    require(session=session, user=actor, action="monitor.alerts", project_id=project_id)
    rules = tuple(rules)
    for rule in rules:
        if not isinstance(rule, DriftRule | MetricRule | FailedJobRule | StaleBatchRule | ResourceRule):
            raise InputError("monitoring.alert.not_a_rule", type=_short(type(rule).__name__))
    if len(rules) > MAX_RULES:
        raise InputError("monitor.alerts.too_many", n=len(rules), maximum=MAX_RULES)
    current = alert_rules(session=session, project_id=project_id)
    if current.version != expected_version:
        raise ConflictError("monitor.alerts.changed_meanwhile")
    data = [rule_to_dict(r) for r in rules]
    row = session.get(AlertRuleSet, project_id)
    if row is None:
        row = AlertRuleSet(project_id=project_id, rules=data, version=1, updated_by_id=actor.id or 0)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:
            raise ConflictError("monitor.alerts.changed_meanwhile") from exc
    else:
        row.rules, row.version, row.updated_by_id, row.updated_at = data, row.version + 1, actor.id or 0, utcnow()
        session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="monitor.alerts",
        object_type="alert_rules",
        object_id=project_id,
        project_id=project_id,
        before={"rules": _rules_text(current.rules)},
        after={"rules": _rules_text(rules)},
    )
    return alert_rules(session=session, project_id=project_id)


def _rules_text(rules: Sequence[Rule]) -> str:
    parts = []
    for rule in rules:
        values = rule_to_dict(rule)
        kind = values.pop("kind")
        parts.append(f"{kind}(" + ", ".join(f"{k}={v}" for k, v in values.items()) + ")")
    return "; ".join(parts)[:2000]


@dataclass(frozen=True)
class RulesForm:
    """The alert rules as the page edits them: at most one rule of each kind, each on or off."""

    drift: bool = True
    drift_psi: float = 0.25
    drift_severity: str = "critical"
    metric: bool = False
    metric_name: str | None = None
    metric_threshold: float | None = None
    metric_periods: int = 1
    metric_severity: str = "critical"
    failed_job: bool = True
    failed_days: float = 1.0
    failed_severity: str = "warning"
    stale: bool = True
    stale_days: float = 7.0
    stale_severity: str = "warning"
    resources: bool = True
    resources_severity: str = "warning"


def rules_form(rules: Sequence[Rule], *, metric: str | None = None, threshold: float | None = None) -> RulesForm:
    """The form values for ``rules`` (the first rule of each kind; a kind without a rule is off).

    ``metric`` and ``threshold`` (the success criterion) fill a metric rule that is off.

    Examples
    --------
    >>> form = rules_form([StaleBatchRule(max_days=3)], metric="recall", threshold=0.7)
    >>> form.stale, form.stale_days, form.drift, form.metric, form.metric_name
    (True, 3, False, False, 'recall')
    >>> rules_from_form(form)
    (StaleBatchRule(max_days=3, severity='warning'),)
    """
    first: dict[str, Any] = {}
    for rule in rules:
        first.setdefault(rule.kind, rule)
    values: dict[str, Any] = {"metric_name": metric, "metric_threshold": threshold}
    drift, metric_rule = first.get("drift"), first.get("metric")
    failed, stale, res = first.get("failed_job"), first.get("stale_batch"), first.get("resources")
    values["drift"] = drift is not None
    if drift is not None:
        values.update(drift_psi=drift.psi_above, drift_severity=drift.severity)
    values["metric"] = metric_rule is not None
    if metric_rule is not None:
        values.update(
            metric_name=metric_rule.metric,
            metric_threshold=metric_rule.threshold,
            metric_periods=metric_rule.periods,
            metric_severity=metric_rule.severity,
        )
    values["failed_job"] = failed is not None
    if failed is not None:
        values.update(failed_days=failed.within_days, failed_severity=failed.severity)
    values["stale"] = stale is not None
    if stale is not None:
        values.update(stale_days=stale.max_days, stale_severity=stale.severity)
    values["resources"] = res is not None
    if res is not None:
        values.update(resources_severity=res.severity)
    return RulesForm(**values)


def rules_from_form(form: RulesForm) -> tuple[Rule, ...]:
    """The rules the form describes (the rules' own checks apply: ``monitoring.alert.bad_rule_value``).

    Raises
    ------
    InputError
        ``monitor.alerts.metric_needed`` when the metric rule is on without a metric and a threshold.
    """
    rules: list[Rule] = []
    if form.drift:
        rules.append(DriftRule(psi_above=form.drift_psi, severity=form.drift_severity))
    if form.metric:
        if form.metric_name is None or form.metric_threshold is None:
            raise InputError("monitor.alerts.metric_needed")
        rules.append(
            MetricRule(
                metric=form.metric_name,
                threshold=form.metric_threshold,
                periods=form.metric_periods,
                severity=form.metric_severity,
            )
        )
    if form.failed_job:
        rules.append(FailedJobRule(within_days=form.failed_days, severity=form.failed_severity))
    if form.stale:
        rules.append(StaleBatchRule(max_days=form.stale_days, severity=form.stale_severity))
    if form.resources:
        rules.append(ResourceRule(severity=form.resources_severity))
    return tuple(rules)


# --------------------------------------------------------------------------- checking alerts


def monitoring_state(*, session: Session, project_id: int, now: datetime | None = None) -> MonitoringState:
    """What the alert rules look at: the drift reports (oldest first), performance on delayed labels for
    every metric a rule follows, the project's jobs, when the latest batch was scored, job resources."""
    records = drift_records(session=session, project_id=project_id, limit=50)
    reports = tuple(replace(r.report, batch=r.label, time=r.observed_at) for r in reversed(records))
    metrics = {r.metric for r in alert_rules(session=session, project_id=project_id).rules if isinstance(r, MetricRule)}
    performance = []
    for metric in sorted(metrics):
        try:
            perf = performance_for(session=session, project_id=project_id, metric=metric)
        except InputError:  # this metric cannot be measured on these outcomes (shown on the page)
            perf = None
        if perf is not None:
            performance.append(perf)
    jobs = session.exec(select(Job).where(Job.project_id == project_id).order_by(col(Job.id).desc()).limit(500)).all()
    last_batch = session.exec(
        select(PredictionBatch.completed_at)
        .where(PredictionBatch.project_id == project_id, PredictionBatch.status == "complete")
        .order_by(col(PredictionBatch.completed_at).desc())
    ).first()
    return MonitoringState(
        now=now or utcnow(),
        drift=reports,
        performance=tuple(performance),
        jobs=tuple(JobRecord(j.id or 0, j.kind, j.status, _aware(j.finished_at), j.error_key) for j in reversed(jobs)),
        last_batch_at=_aware(last_batch),
        resources=job_resources(session=session, project_id=project_id),
    )


@dataclass(frozen=True)
class AlertCheck:
    """The alerts firing now, and what changed in the history since the previous check.

    Attributes
    ----------
    alerts : tuple of Alert
        Critical first.
    opened, resolved : int
        Alerts that started firing, and that stopped, with this check.
    exit_code : int
        0 nothing fired, 1 warnings only, 2 something critical (``mlcore monitor check``).
    checked_at : datetime
    """

    alerts: tuple[Alert, ...]
    opened: int
    resolved: int
    exit_code: int
    checked_at: datetime


def _fingerprint(alert: Alert) -> str:
    return hashlib.sha256(f"{alert.rule}\x1f{alert.key}\x1f{alert.subject}".encode()).hexdigest()


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v if isinstance(v, int | float | str | bool) or v is None else str(v) for k, v in params.items()}


def check_alerts(
    *, session: Session, project_id: int, now: datetime | None = None, source: str = "app", fail_on: str = "warning"
) -> AlertCheck:
    """Evaluate the project's alert rules and keep the alert history up to date.

    An alert that starts firing opens an event; while it keeps firing its last-seen time moves on;
    once a check no longer sees it, it is resolved. Every check (the page, ``mlcore monitor check``,
    the drift job) does this bookkeeping, so the history does not depend on who looked.

    Raises
    ------
    InputError
        ``monitoring.alert.bad_severity`` for an unknown ``fail_on``.
    """
    if fail_on not in SEVERITIES:
        raise InputError("monitoring.alert.bad_severity", value=_short(fail_on, 40), choices=", ".join(SEVERITIES))
    moment = now or utcnow()
    state = monitoring_state(session=session, project_id=project_id, now=moment)
    alerts = evaluate_alerts(alert_rules(session=session, project_id=project_id).rules, state)
    open_events = {
        e.open_fingerprint: e
        for e in session.exec(
            select(AlertEvent).where(AlertEvent.project_id == project_id, col(AlertEvent.open_fingerprint).is_not(None))
        ).all()
    }
    opened = 0
    seen: set[str] = set()
    for alert in alerts:
        fingerprint = _fingerprint(alert)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        event = open_events.get(fingerprint)
        if event is not None:
            event.last_seen_at, event.params, event.severity = moment, _json_params(alert.params), alert.severity
            session.add(event)
            continue
        try:
            with session.begin_nested():
                session.add(
                    AlertEvent(
                        project_id=project_id,
                        rule=alert.rule,
                        severity=alert.severity,
                        key=alert.key,
                        params=_json_params(alert.params),
                        subject=_short(alert.subject, 1000),
                        fingerprint=fingerprint,
                        open_fingerprint=fingerprint,
                        source=_short(source, 20),
                        first_seen_at=moment,
                        last_seen_at=moment,
                    )
                )
            opened += 1
        except IntegrityError:  # another check opened it at the same moment
            pass
    resolved = 0
    for open_fingerprint, event in open_events.items():
        if open_fingerprint not in seen:
            event.open_fingerprint, event.resolved_at = None, moment
            session.add(event)
            resolved += 1
    session.flush()
    return AlertCheck(alerts, opened, resolved, exit_code(alerts, fail_on=fail_on), moment)


@dataclass(frozen=True)
class AlertEventView:
    """One alert in the history."""

    id: int
    rule: str
    severity: str
    key: str
    params: Mapping[str, Any]
    subject: str
    source: str
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    def message(self, lang: str = "en") -> str:
        return _t(self.key, lang, **self.params)


def alert_events(*, session: Session, project_id: int, limit: int = 100) -> list[AlertEventView]:
    """The project's alert history, most recent first (open alerts first)."""
    rows = session.exec(
        select(AlertEvent)
        .where(AlertEvent.project_id == project_id)
        .order_by(col(AlertEvent.last_seen_at).desc(), col(AlertEvent.id).desc())
        .limit(max(1, min(limit, 1000)))
    ).all()
    views = [
        AlertEventView(
            id=r.id or 0,
            rule=r.rule,
            severity=r.severity,
            key=r.key,
            params=dict(r.params),
            subject=r.subject,
            source=r.source,
            first_seen_at=_aware(r.first_seen_at) or r.first_seen_at,
            last_seen_at=_aware(r.last_seen_at) or r.last_seen_at,
            resolved_at=_aware(r.resolved_at),
        )
        for r in rows
    ]
    return sorted(views, key=lambda v: not v.open)


def alerts_frame(alerts: Sequence[Alert], *, lang: str = "en") -> pd.DataFrame:
    """The alerts firing now: severity, rule and message."""
    return pd.DataFrame(
        [
            [_t(f"monitoring.severity.{a.severity}", lang), _t(f"monitor.rule.{a.rule}", lang), a.message(lang)]
            for a in alerts
        ],
        columns=[
            _t("monitor.alerts.severity", lang),
            _t("monitor.alerts.rule", lang),
            _t("monitor.alerts.message", lang),
        ],
    )


def alert_history_frame(events: Sequence[AlertEventView], *, lang: str = "en") -> pd.DataFrame:
    """The alert history: severity, rule, message, first and last seen, resolved."""
    names = ("severity", "rule", "message", "first_seen", "last_seen", "resolved")
    return pd.DataFrame(
        [
            [
                _t(f"monitoring.severity.{e.severity}", lang),
                _t(f"monitor.rule.{e.rule}", lang),
                e.message(lang),
                f"{e.first_seen_at:%Y-%m-%d %H:%M}",
                f"{e.last_seen_at:%Y-%m-%d %H:%M}",
                f"{e.resolved_at:%Y-%m-%d %H:%M}" if e.resolved_at else _t("monitor.alerts.still_open", lang),
            ]
            for e in events
        ],
        columns=[_t(f"monitor.alerts.{n}", lang) for n in names],
    )


# --------------------------------------------------------------------------- retraining


def champions(*, session: Session, project_id: int) -> list[Any]:
    """The production version of each registered model of the project (``ModelVersionRecord``)."""
    from mlcore.modeling.tracking import list_registry

    return [m.production for m in list_registry(session=session, project_id=project_id) if m.production is not None]


def challenger_spec(*, session: Session, project_id: int, model_version_id: int) -> Any:
    """The champion's configuration as a training spec: the same target, features, preparation recipe,
    split scheme and seed, its one model family with the hyper-parameters it was trained with (a
    search's choice included, now fixed), so the challenger differs only by the data it learns from.

    Returns
    -------
    mlcore.modeling.tracking.TrainingSpec

    Raises
    ------
    NotFound
        ``tracking.model_version_not_found``.
    """
    from mlcore.modeling.tracking import TrainingSpec, get_model_version, run_detail

    champion = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
    detail = run_detail(session=session, project_id=project_id, run_id=champion.run_id)
    run = detail.run
    candidate = next(c for c in detail.candidates if c.id == champion.candidate_id)
    submitted = dict(run.run_config.get("spec") or {})
    return TrainingSpec(
        target=run.target,
        features=tuple(submitted.get("features") or run.features),
        families=(candidate.family,),
        metrics=run.metrics,
        scheme=run.scheme,
        n_splits=run.n_splits,
        group_column=run.group_column,
        order_column=run.order_column,
        test_size=run.test_size,
        validation_size=float(submitted.get("validation_size", 0.2)),
        seed=run.seed,
        params={candidate.family: dict(candidate.model_params)},
        recipe_id=run.recipe_id,
    )


def spec_frame(spec: Any, *, lang: str = "en") -> pd.DataFrame:
    """A training spec as two columns (setting, value) for display."""
    params = "; ".join(f"{k}={v}" for f in spec.params.values() for k, v in f.items()) or "—"
    rows = [
        ("target", spec.target),
        ("features", ", ".join(spec.features)),
        ("families", ", ".join(_t(f"modeling.family.{f}", lang) for f in spec.families)),
        ("params", params),
        ("recipe", str(spec.recipe_id) if spec.recipe_id is not None else "—"),
        ("scheme", f"{spec.scheme} · {spec.n_splits}"),
        ("seed", str(spec.seed)),
        ("metrics", ", ".join(spec.metrics)),
    ]
    return pd.DataFrame(
        [(_t(f"monitor.spec.{k}", lang), v) for k, v in rows],
        columns=[_t("monitor.spec.setting", lang), _t("monitor.spec.value", lang)],
    )


def newer_versions(*, session: Session, project_id: int, model_version_id: int) -> list[VersionSummary]:
    """Dataset versions created after the champion's training data that hold its target, newest first."""
    from mlcore.modeling.tracking import get_model_version

    champion = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
    trained = get_version(session=session, version_id=champion.dataset_version_id)
    out = [
        v
        for v in list_versions(session=session, project_id=project_id)
        if v.id != trained.id
        and (_aware(v.created_at) or v.created_at) >= (_aware(trained.created_at) or trained.created_at)
        and champion.target in {str(c.get("name")) for c in v.columns}
    ]
    return sorted(out, key=lambda v: (_aware(v.created_at) or v.created_at, v.id), reverse=True)


def submit_challenger(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    model_version_id: int,
    version_id: int,
    actor_id: int,
    launch: bool = True,
) -> int:
    """Train a challenger: the champion's configuration (:func:`challenger_spec`) on a newer dataset
    version, as an ordinary ``train`` job (its run appears with the others); return the job id.

    Raises
    ------
    PermissionDenied
        Without ``model.train`` in the project.
    NotFound
        ``tracking.model_version_not_found``, ``errors.version_not_found``.
    InputError
        ``monitor.retrain.same_version`` (the champion's own training data), and those of
        :func:`mlcore.modeling.tracking.submit_training`.
    """
    from mlcore.jobs import launch_job
    from mlcore.modeling.tracking import get_model_version, submit_training

    with session_scope(engine) as session:
        _actor(session, actor_id, "model.train", project_id)
        champion = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
        version = _version_in_project(session, project_id, version_id)
        if version.id == champion.dataset_version_id:
            raise InputError("monitor.retrain.same_version", label=version.label)
        spec = challenger_spec(session=session, project_id=project_id, model_version_id=model_version_id)
    job_id = submit_training(
        engine=engine,
        settings=settings,
        project_id=project_id,
        version_id=version.id,
        spec=spec,
        actor_id=actor_id,
        launch=False,
    )
    with session_scope(engine) as session:
        known = session.exec(select(RetrainRequest).where(RetrainRequest.job_id == job_id)).first()
        if known is None:
            session.add(
                RetrainRequest(
                    project_id=project_id,
                    champion_version_id=champion.id,
                    dataset_version_id=version.id,
                    job_id=job_id,
                    spec=spec.to_json(),
                    created_by_id=actor_id,
                )
            )
    if launch and known is None:
        launch_job(job_id, settings)
    return job_id


@dataclass(frozen=True)
class RetrainView:
    """A challenger asked for, and where its training stands.

    ``challenger_id`` is the trained candidate (once the job succeeded).
    """

    id: int
    champion_version_id: int
    champion_ref: str
    version_id: int
    version_label: str
    job_id: int
    job_status: str
    run_id: int | None
    challenger_id: int | None
    created_by: str
    created_at: datetime


def retrain_requests(*, session: Session, project_id: int) -> list[RetrainView]:
    """The project's challengers, newest first."""
    rows = session.exec(
        select(RetrainRequest).where(RetrainRequest.project_id == project_id).order_by(col(RetrainRequest.id).desc())
    ).all()
    refs = _model_refs(session, [r.champion_version_id for r in rows])
    out = []
    for r in rows:
        job = session.get(Job, r.job_id)
        if job is not None:
            session.refresh(job)
        result = dict(job.result or {}) if job is not None else {}
        candidates = [int(c) for c in result.get("candidate_ids", [])]
        version = get_version(session=session, version_id=r.dataset_version_id)
        out.append(
            RetrainView(
                id=r.id or 0,
                champion_version_id=r.champion_version_id,
                champion_ref=refs.get(r.champion_version_id, ""),
                version_id=r.dataset_version_id,
                version_label=version.label,
                job_id=r.job_id,
                job_status=job.status if job is not None else "failed",
                run_id=int(result["run_id"]) if "run_id" in result else None,
                challenger_id=candidates[0] if candidates else None,
                created_by=_user_name(session, r.created_by_id),
                created_at=_aware(r.created_at) or r.created_at,
            )
        )
    return out


def submit_comparison(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    model_version_id: int,
    challenger_id: int,
    version_id: int,
    actor_id: int,
    launch: bool = True,
) -> int:
    """Queue (and start) the ``challenger`` job: the champion and a challenger scored on the same recent
    labelled rows of a dataset version; return the job id.

    When a compared model was trained on that version, only its locked test rows are used (for both
    models): a model is never judged on rows it learned from.

    Raises
    ------
    PermissionDenied
        Without ``monitor.run`` in the project.
    NotFound
        ``tracking.model_version_not_found``, ``tracking.candidate_not_found``, ``errors.version_not_found``.
    InputError
        ``monitor.retrain.same_model``, ``monitor.retrain.no_target`` (the version lacks the target).
    """
    from mlcore.jobs import launch_job, submit_job
    from mlcore.modeling.tracking import get_candidate, get_model_version

    with session_scope(engine) as session:
        _actor(session, actor_id, "monitor.run", project_id)
        champion = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
        get_candidate(session=session, project_id=project_id, candidate_id=challenger_id)
        if champion.candidate_id == challenger_id:
            raise InputError("monitor.retrain.same_model")
        version = _version_in_project(session, project_id, version_id)
        if champion.target not in {str(c.get("name")) for c in version.columns}:
            raise InputError("monitor.retrain.no_target", label=version.label, target=_short(champion.target))
        params = {
            "project_id": project_id,
            "actor_id": actor_id,
            "model_version_id": champion.id,
            "challenger_id": int(challenger_id),
            "version_id": version.id,
        }
        job = submit_job(session=session, kind="challenger", params=params, actor_id=actor_id, project_id=project_id)
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _verdict(metric: str, champion: float, challenger: float) -> str:
    if not (math.isfinite(champion) and math.isfinite(challenger)):
        return "unknown"
    gain = challenger - champion if metric_direction(metric) == "higher" else champion - challenger
    if abs(gain) <= _SIMILAR:
        return "similar"
    return "better" if gain > 0 else "worse"


@job_kind("challenger")
def compare_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: champion and challenger on the same labelled rows of a version; the comparison is stored."""
    from mlcore.modeling.stress import evaluate_on_frame
    from mlcore.modeling.tracking import (
        _labelled,
        get_candidate,
        get_model_version,
        load_model,
        read_test_rows,
        run_detail,
    )

    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    ctx.progress(0.02, "monitor.progress.models")
    with session_scope(ctx.engine) as session:
        _actor(session, actor_id, "monitor.run", project_id)
        champion = get_model_version(
            session=session, project_id=project_id, model_version_id=int(params["model_version_id"])
        )
        challenger = get_candidate(session=session, project_id=project_id, candidate_id=int(params["challenger_id"]))
        runs = {
            "champion": run_detail(session=session, project_id=project_id, run_id=champion.run_id).run,
            "challenger": run_detail(session=session, project_id=project_id, run_id=challenger.run_id).run,
        }
        pipelines = {
            "champion": load_model(session=session, store=store, candidate_id=champion.candidate_id),
            "challenger": load_model(session=session, store=store, candidate_id=challenger.id),
        }
        version = _version_in_project(session, project_id, int(params["version_id"]))
        wanted, threshold = criterion(session=session, project_id=project_id)
        task = _project_task(session, project_id)
    target = runs["champion"].target
    frame, _, _ = _labelled(read_version(store=store, version=version), target)
    rows = frame.index.to_numpy()
    restricted = False
    for run in runs.values():
        if run.version_id == version.id:
            rows = np.intersect1d(rows, read_test_rows(store=store, run=run))
            restricted = True
    if len(rows) == 0:
        raise InputError("monitor.retrain.no_unseen_rows", label=version.label)
    valid = CANVAS_METRICS.get(task, ())
    metrics = [m for m in dict.fromkeys([wanted, *runs["champion"].metrics]) if m is not None and m in valid]
    primary = metrics[0]
    ctx.progress(0.3, "monitor.progress.scoring", rows=len(rows))
    values: dict[str, dict[str, float | None]] = {}
    for side in ("champion", "challenger"):
        run = runs[side]
        result = evaluate_on_frame(
            pipelines[side],
            frame.loc[rows, [*run.features, target]],
            target=target,
            metrics=metrics,
            features=list(run.features),
            pos_label=run.run_config.get("positive_class"),
        )
        for metric in metrics:
            values.setdefault(metric, {})[side] = _json_float(float(result.metrics.get(metric, math.nan)))
        ctx.progress(0.6 if side == "champion" else 0.9, "monitor.progress.scoring", rows=len(rows))
    first = values[primary]
    verdict = _verdict(primary, float(first["champion"] or math.nan), float(first["challenger"] or math.nan))
    with session_scope(ctx.engine) as session:
        actor = _actor(session, actor_id, "monitor.run", project_id)
        row = ChallengerComparison(
            project_id=project_id,
            champion_version_id=champion.id,
            challenger_candidate_id=challenger.id,
            dataset_version_id=version.id,
            rows="test" if restricted else "all",
            n_rows=len(rows),
            metrics=values,
            primary_metric=primary,
            threshold=threshold if primary == wanted else None,
            verdict=verdict,
            job_id=ctx.job_id,
            created_by_id=actor_id,
        )
        session.add(row)
        session.flush()
        record_event(
            session=session,
            actor=actor,
            action="monitor.compare",
            object_type="challenger_comparison",
            object_id=row.id or 0,
            project_id=project_id,
            after={
                "champion": champion.ref,
                "challenger": challenger.id,
                "data": version.label,
                "metric": primary,
                "champion_value": first["champion"],
                "challenger_value": first["challenger"],
                "verdict": verdict,
            },
        )
        comparison_id = row.id or 0
    ctx.report_rows(2 * len(rows))
    return {"comparison_id": comparison_id, "verdict": verdict, "label": version.label, "n_rows": len(rows)}


@dataclass(frozen=True)
class ComparisonView:
    """A stored champion-versus-challenger comparison.

    Attributes
    ----------
    metrics : mapping
        Metric -> ``{"champion": value, "challenger": value}`` (None when undefined).
    primary_metric : str
        The success criterion's metric (else the champion run's first).
    verdict : {"better", "similar", "worse", "unknown"}
        The challenger on the primary metric (within 0.005 is "similar").
    rows : {"all", "test"}
        All labelled rows of the version, or only those no compared model trained on.
    promoted_ref : str
        The registered version the challenger became in production (empty if not promoted).
    """

    id: int
    champion_version_id: int
    champion_ref: str
    champion_stage: str
    challenger_id: int
    challenger_label: str
    version_id: int
    version_label: str
    rows: str
    n_rows: int
    metrics: Mapping[str, Mapping[str, float | None]]
    primary_metric: str
    threshold: float | None
    verdict: str
    created_by: str
    created_at: datetime
    promoted_ref: str
    promoted_by: str
    promoted_at: datetime | None

    @property
    def promoted(self) -> bool:
        return self.promoted_at is not None

    def summary(self, lang: str = "en") -> str:
        """The verdict in one sentence."""
        first = self.metrics.get(self.primary_metric, {})
        return _t(
            f"monitor.retrain.verdict_{self.verdict}",
            lang,
            metric=self.primary_metric,
            champion=_number(first.get("champion")),
            challenger=_number(first.get("challenger")),
            rows=self.n_rows,
            data=self.version_label,
        )


def _number(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4f}"


def comparisons(*, session: Session, project_id: int, limit: int = 50) -> list[ComparisonView]:
    """The project's champion-versus-challenger comparisons, newest first."""
    from mlcore.modeling.tracking import _version_records

    rows = session.exec(
        select(ChallengerComparison)
        .where(ChallengerComparison.project_id == project_id)
        .order_by(col(ChallengerComparison.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    ids = [r.champion_version_id for r in rows] + [r.promoted_version_id for r in rows if r.promoted_version_id]
    versions = {v.id: v for v in _version_records(session, col(ModelVersion.id).in_(ids))} if ids else {}
    out = []
    for r in rows:
        session.refresh(r)
        candidate = session.get(RunCandidate, r.challenger_candidate_id)
        champion = versions.get(r.champion_version_id)
        promoted = versions.get(r.promoted_version_id or 0)
        out.append(
            ComparisonView(
                id=r.id or 0,
                champion_version_id=r.champion_version_id,
                champion_ref=champion.ref if champion else "",
                champion_stage=champion.stage if champion else "",
                challenger_id=r.challenger_candidate_id,
                challenger_label=(
                    f"{candidate.family} · run {candidate.run_id}"
                    if candidate is not None
                    else str(r.challenger_candidate_id)
                ),
                version_id=r.dataset_version_id,
                version_label=get_version(session=session, version_id=r.dataset_version_id).label,
                rows=r.rows,
                n_rows=r.n_rows,
                metrics={str(k): dict(v) for k, v in r.metrics.items()},
                primary_metric=r.primary_metric,
                threshold=r.threshold,
                verdict=r.verdict,
                created_by=_user_name(session, r.created_by_id),
                created_at=_aware(r.created_at) or r.created_at,
                promoted_ref=promoted.ref if promoted else "",
                promoted_by=_user_name(session, r.promoted_by_id),
                promoted_at=_aware(r.promoted_at),
            )
        )
    return out


def comparison_frame(comparison: ComparisonView, *, lang: str = "en") -> pd.DataFrame:
    """One row per metric: champion, challenger, the difference, and which one is better."""
    rows = []
    for metric, pair in comparison.metrics.items():
        a, b = pair.get("champion"), pair.get("challenger")
        verdict = _verdict(metric, math.nan if a is None else a, math.nan if b is None else b)
        rows.append(
            [
                metric,
                a,
                b,
                None if a is None or b is None else b - a,
                _t(f"monitor.retrain.cell_{verdict}", lang),
            ]
        )
    names = ("metric", "champion", "challenger", "difference", "verdict")
    return pd.DataFrame(rows, columns=[_t(f"monitor.retrain.col_{n}", lang) for n in names])


def promote_challenger(
    *,
    session: Session,
    actor: User,
    project_id: int,
    comparison_id: int,
    reason: str,
    override: bool = False,
) -> Any:
    """Put a compared challenger in production in place of the champion, as the approving user.

    The challenger is registered as the next version of the champion's model (if it is not yet),
    moved to staging then to production with :func:`mlcore.modeling.tracking.transition_stage`
    (which archives the champion; every change is an audit event), and the approval is recorded with
    the comparison and its reason.

    Parameters
    ----------
    actor : User
        Needs ``model.promote`` in the project (and ``model.register`` when the challenger is not
        registered yet).
    comparison_id : int
    reason : str
        Why (required; kept in the audit trail).
    override : bool, default False
        Promote a challenger the comparison found worse (on the primary metric) anyway.

    Returns
    -------
    mlcore.modeling.tracking.ModelVersionRecord
        The challenger's version, now in production.

    Raises
    ------
    PermissionDenied
        Without ``model.promote`` (or ``model.register``) in the project.
    NotFound
        ``monitor.retrain.comparison_not_found``.
    InputError
        ``monitor.retrain.reason_required``, ``monitor.retrain.already_promoted``,
        ``monitor.retrain.worse`` (without ``override``).
    ConflictError
        ``monitor.retrain.champion_changed`` if the champion left production since the comparison.
    """
    from mlcore.modeling.tracking import get_model_version, register_model, transition_stage

    require(session=session, user=actor, action="model.promote", project_id=project_id)
    row = session.get(ChallengerComparison, comparison_id)
    if row is None or row.project_id != project_id:
        raise NotFound("monitor.retrain.comparison_not_found", comparison_id=comparison_id)
    session.refresh(row)
    why = reason.strip() if isinstance(reason, str) else ""
    if not why:
        raise InputError("monitor.retrain.reason_required")
    if len(why) > MAX_REASON:
        raise InputError("monitor.retrain.reason_too_long", maximum=MAX_REASON)
    if row.promoted_at is not None:
        raise InputError("monitor.retrain.already_promoted")
    champion = get_model_version(session=session, project_id=project_id, model_version_id=row.champion_version_id)
    if champion.stage != "production":
        raise ConflictError("monitor.retrain.champion_changed", ref=champion.ref)
    if row.verdict == "worse" and not override:
        raise InputError("monitor.retrain.worse", metric=row.primary_metric)
    existing = session.exec(
        select(ModelVersion).where(
            ModelVersion.registered_model_id == champion.model_id,
            ModelVersion.candidate_id == row.challenger_candidate_id,
        )
    ).first()
    if existing is None:
        version = register_model(
            session=session,
            actor=actor,
            project_id=project_id,
            candidate_id=row.challenger_candidate_id,
            name=champion.name,
        )
    else:
        version = get_model_version(session=session, project_id=project_id, model_version_id=existing.id or 0)
    note = f"{why} (comparison #{row.id}: {row.primary_metric})"
    if version.stage == "production":
        raise InputError("monitor.retrain.already_promoted")
    if version.stage != "staging":
        version = transition_stage(
            session=session,
            actor=actor,
            project_id=project_id,
            model_version_id=version.id,
            stage="staging",
            expected_version=version.version,
            reason=note,
        )
    version = transition_stage(
        session=session,
        actor=actor,
        project_id=project_id,
        model_version_id=version.id,
        stage="production",
        expected_version=version.version,
        reason=note,
    )
    row.promoted_version_id, row.promoted_by_id, row.promoted_at = version.id, actor.id, utcnow()
    session.add(row)
    session.flush()
    first = dict(row.metrics.get(row.primary_metric, {}))
    record_event(
        session=session,
        actor=actor,
        action="monitor.promote",
        object_type="challenger_comparison",
        object_id=row.id or 0,
        project_id=project_id,
        before={"production": champion.ref},
        after={
            "production": version.ref,
            "metric": row.primary_metric,
            "champion_value": first.get("champion"),
            "challenger_value": first.get("challenger"),
            "verdict": row.verdict,
            "override": bool(override),
        },
        reason=why,
    )
    return version


# --------------------------------------------------------------------------- page helpers


def model_choices(*, session: Session, project_id: int) -> list[Any]:
    """Every registered model version of the project (``ModelVersionRecord``), production versions first,
    then newest first."""
    from mlcore.modeling.tracking import list_registry

    versions = [v for m in list_registry(session=session, project_id=project_id) for v in m.versions]
    return sorted(versions, key=lambda v: (v.stage != "production", -(v.created_at.timestamp())))


def rules_frame(rules: Sequence[Rule], *, lang: str = "en") -> pd.DataFrame:
    """The alert rules in words: kind, settings and severity."""
    rows = []
    for rule in rules:
        values = rule_to_dict(rule)
        kind, severity = values.pop("kind"), values.pop("severity")
        settings = ", ".join(
            f"{_t(f'monitor.rules.field.{k}', lang)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in values.items()
            if v not in ([], ())
        )
        rows.append([_t(f"monitor.rule.{kind}", lang), settings or "—", _t(f"monitoring.severity.{severity}", lang)])
    names = ("rule", "settings", "severity")
    return pd.DataFrame(rows, columns=[_t(f"monitor.alerts.{n}", lang) for n in names])


def retrain_frame(requests: Sequence[RetrainView], *, lang: str = "en") -> pd.DataFrame:
    """The challengers asked for: champion, data, job status, run, who and when."""
    names = ("id", "champion", "data", "status", "run", "who", "when")
    return pd.DataFrame(
        [
            [
                r.id,
                r.champion_ref,
                r.version_label,
                _t(f"monitor.job_status.{r.job_status}", lang),
                r.run_id if r.run_id is not None else "—",
                r.created_by,
                f"{r.created_at:%Y-%m-%d %H:%M}",
            ]
            for r in requests
        ],
        columns=[_t(f"monitor.retrain.req_{n}", lang) for n in names],
    )


def versions_with_column(*, session: Session, project_id: int, column: str) -> list[VersionSummary]:
    """The project's dataset versions that hold ``column`` (a target, to compare models on), newest first."""
    found = [
        v
        for v in list_versions(session=session, project_id=project_id)
        if column in {str(c.get("name")) for c in v.columns}
    ]
    return sorted(found, key=lambda v: (_aware(v.created_at) or v.created_at, v.id), reverse=True)
