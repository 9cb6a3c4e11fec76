"""Batch scoring as a job (the ``predict_batch`` kind) and what the deployment and prediction pages show.

:func:`submit_batch_scoring` checks a request (who, which model, which rows) and queues the job; the job
loads the registered model (environment and file hash checked), reads the rows chunk by chunk from a
dataset version, a file or a staged SQL result, optionally computes the top three SHAP reasons per row,
and hands everything to :func:`mlcore.deploy.batch.score_batch`, which writes the predictions in bulk and
publishes the batch in one step (a killed run leaves nothing visible; the same batch key replaces).
The drift of the scored rows is recorded for monitoring when it can be, never at the cost of the scores.

The rest of the module turns stored batches and the advisor's answers into the frames, figures and
labels the pages render.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mlcore.artifacts import ArtifactStore, sha256_file
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.versions import VersionSummary, version_in_project
from mlcore.deploy.advisor import (
    PERIODS,
    URGENCIES,
    AdvisorAnswers,
    ModeChoice,
    Recommendation,
    answers_from_canvas,
)
from mlcore.deploy.batch import (
    DEFAULT_CHUNK_ROWS,
    MAX_SEGMENTS,
    MAX_SHOWN_COLUMNS,
    BatchResult,
    BatchSummary,
    FeatureSpec,
    batch_key_for,
    model_features,
    parquet_chunks,
    score_batch,
    table_chunks,
)
from mlcore.deploy.dashboard import BatchInfo, RowDetail, RowFilter, TopRow, TrendPoint, export_csv, rows_frame
from mlcore.errors import InputError, MLCoreError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import ACTIVE, JobCancelled, JobContext, job_kind
from mlcore.store.engine import session_scope
from mlcore.store.models import Job, User
from mlcore.store.models_deployment import DeploymentChoice
from mlcore.store.models_modeling import TrainingRun

__all__ = [
    "MAX_AGNOSTIC_EXPLAIN_ROWS",
    "ROW_NUMBER_COLUMN",
    "SHOWN_VALUES_MAX_ROWS",
    "SOURCE_KINDS",
    "BatchOption",
    "ModelOption",
    "ScoringSource",
    "batch_options",
    "csv_bytes",
    "default_answers",
    "default_threshold",
    "detail_frame",
    "history_frame",
    "histogram_figure",
    "mode_choice_history",
    "model_options",
    "percent_text",
    "predict_batch_job",
    "reasons_for_rows",
    "report_messages",
    "row_filter",
    "score_bounds",
    "segment_table",
    "segment_values",
    "source_text",
    "submit_batch_scoring",
    "TradeoffCard",
    "top_frame",
    "tradeoff_cards",
    "trend_figure",
    "version_columns",
]

log = logging.getLogger(__name__)

SOURCE_KINDS: tuple[str, ...] = ("dataset_version", "file", "query")
MAX_AGNOSTIC_EXPLAIN_ROWS = 2_000
"""Most rows explained with the model-agnostic (permutation) SHAP path, which costs hundreds of model
calls per row; tree and linear models have no limit."""
ROW_NUMBER_COLUMN = "row"
"""The key made up when the rows have no identifier: the row's position in the input (from 0)."""
SHOWN_VALUES_MAX_ROWS = 200_000
"""Batches up to this many rows keep each row's feature values (at most 20) for the one-row drill-down."""
CHUNK_ROWS: int | None = None
"""Rows scored at a time (None: :func:`~mlcore.deploy.batch.score_batch` picks from the number of features)."""
MAX_QUERY_CHARS = 10_000
MAX_PATH_CHARS = 1_000
_TOP_REASONS = 3
_AGNOSTIC_SLICE = 300  # explain's own cap per call on the permutation path
_MISSING_VALUE = "—"


def _t(key: str, lang: str, **params: Any) -> str:
    return translate(key, lang, **params)


def _short(value: object, limit: int = 80) -> str:
    return str(value)[:limit]


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class ScoringSource:
    """Where the rows to score come from: a dataset version, a file, or a read-only SQL query.

    Build one with :meth:`dataset_version`, :meth:`file` or :meth:`sql`.

    Examples
    --------
    >>> ScoringSource.sql("select * from customers", url="sqlite:///shop.db").kind
    'query'
    """

    kind: str
    version_id: int | None = None
    path: str | None = None
    filename: str | None = None
    query: str | None = None
    url: str | None = None

    @classmethod
    def dataset_version(cls, version_id: int) -> ScoringSource:
        return cls("dataset_version", version_id=version_id)

    @classmethod
    def file(cls, path: str | Path, *, filename: str | None = None) -> ScoringSource:
        """A CSV, Excel or Parquet file; ``filename`` is the user's name for it (an upload's)."""
        return cls("file", path=str(path), filename=filename)

    @classmethod
    def sql(cls, query: str, *, url: str) -> ScoringSource:
        """One ``SELECT`` run on a read-only connection to ``url`` (SQLite or PostgreSQL)."""
        return cls("query", query=query, url=url)


@dataclass(frozen=True)
class _Prepared:
    """A checked source: what the job needs (``params``), what the batch records (``record``)."""

    params: dict[str, Any]
    record: dict[str, Any]
    n_rows: int | None
    columns: tuple[str, ...] | None


def _columns_option(value: object) -> tuple[str, ...]:
    """A list of column names (a comma-separated text is accepted, as typed on the command line)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Sequence):
        items = [v.strip() if isinstance(v, str) else v for v in value]
    else:
        raise InputError("scoring.bad_columns", value=_short(value))
    if not all(isinstance(v, str) and v for v in items):
        raise InputError("scoring.bad_columns", value=_short(value))
    return tuple(str(v) for v in items)


def _threshold_option(value: object, *, task_type: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise InputError("deploy.bad_threshold", value=_short(value, 40))
    if task_type == "classification" and not 0.0 <= float(value) <= 1.0:
        raise InputError("deploy.bad_threshold", value=_short(value, 40))
    return float(value)


def _batch_key_option(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError("deploy.bad_batch_key", maximum=200)
    return value.strip()


def _version_in_project(session: Session, project_id: int, version_id: object) -> VersionSummary:
    if isinstance(version_id, bool) or not isinstance(version_id, int):
        raise InputError("scoring.bad_version", value=_short(version_id, 40))
    return version_in_project(session, project_id, version_id)


def _file_format(path: Path) -> str:
    from mlcore.data.ingest import SAMPLE_BYTES, detect_format

    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    return detect_format(path.name, head)


def _stage_table(settings: Settings, table: pa.Table) -> Path:
    """Keep a query's result as a Parquet file in the staging folder (atomically); no password is kept."""
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=settings.staging_dir, prefix="score-", suffix=".part")
    os.close(fd)
    try:
        pq.write_table(table, tmp_name)
        final = Path(tmp_name[: -len(".part")] + ".parquet")
        os.replace(tmp_name, final)
        return final
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _is_staged(settings: Settings, path: Path) -> bool:
    return settings.staging_dir.resolve() in path.resolve().parents


def _prepare_source(session: Session, settings: Settings, project_id: int, source: ScoringSource) -> _Prepared:
    from mlcore.data.imports import mask_url

    if source.kind == "dataset_version":
        version = _version_in_project(session, project_id, source.version_id)
        return _Prepared(
            params={"kind": "dataset_version", "version_id": version.id},
            record={"kind": "dataset_version", "version_id": version.id, "label": version.label},
            n_rows=version.n_rows,
            columns=tuple(str(c["name"]) for c in version.columns),
        )
    if source.kind == "file":
        raw = source.path or ""
        path = Path(raw).expanduser()
        if not raw or len(raw) > MAX_PATH_CHARS or not path.is_file():
            raise InputError("scoring.file_missing", path=_short(raw, 300))
        filename = (source.filename or path.name)[:300]
        n_rows: int | None = None
        columns: tuple[str, ...] | None = None
        if _file_format(path) == "parquet":
            try:
                meta = pq.ParquetFile(str(path))
            except (OSError, pa.ArrowException) as exc:
                raise InputError("deploy.bad_parquet", reason=_short(exc, 200)) from None
            n_rows, columns = meta.metadata.num_rows, tuple(meta.schema_arrow.names)
        return _Prepared(
            params={"kind": "file", "path": str(path.resolve()), "filename": filename},
            record={"kind": "file", "filename": filename, "sha256": sha256_file(path)},
            n_rows=n_rows,
            columns=columns,
        )
    if source.kind == "query":
        query = (source.query or "").strip()
        if not query:
            raise InputError("ingest.sql_empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError("scoring.query_too_long", maximum=MAX_QUERY_CHARS)
        if not source.url:
            raise InputError("scoring.url_required")
        table = _read_query(source.url, query, settings)
        staged = _stage_table(settings, table)
        return _Prepared(
            params={"kind": "query", "path": str(staged), "filename": "query.parquet"},
            record={"kind": "query", "url": mask_url(source.url), "query": query, "sha256": sha256_file(staged)},
            n_rows=table.num_rows,
            columns=tuple(table.column_names),
        )
    raise InputError("scoring.bad_source", kind=_short(source.kind, 40), kinds=", ".join(SOURCE_KINDS))


def _read_query(url: str, query: str, settings: Settings) -> pa.Table:
    """The query's rows as read from the database (one ``SELECT``, read-only connection).

    Ingest's reader is used without its role casting: the model's own checks in
    :func:`~mlcore.deploy.batch.score_batch` judge each column against what the model expects and say
    so in its terms (a text value in a numeric feature), rather than asking for roles.
    """
    from mlcore.data.ingest import _read_sql

    return _read_sql(url, query, limits=settings.limits)


def _read_file(path: Path, filename: str, settings: Settings) -> pa.Table:
    """A CSV or Excel file as read (see :func:`_read_query` for why without role casting)."""
    from mlcore.data.ingest import _read_file as read

    return read(path, filename=filename, limits=settings.limits)[0]


def _run_of(session: Session, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise NotFound("tracking.run_not_found", run_id=run_id)
    return run


def _explainer_kind(family: str, run: TrainingRun) -> str | None:
    """Which SHAP path the family's model takes (None when it cannot be told without the model)."""
    from mlcore.modeling.explain import choose_explainer
    from mlcore.modeling.training import build_pipeline

    config = dict(run.run_config or {})
    try:
        pipeline = build_pipeline(
            family, task_type=run.task_type, roles=dict(config.get("roles") or {}), features=list(run.features)
        )
        return choose_explainer(pipeline).kind
    except (MLCoreError, ValueError, TypeError, KeyError):
        return None


def _check_explain_rows(kind: str | None, n_rows: int | None, family: str) -> None:
    if kind == "permutation" and n_rows is not None and n_rows > MAX_AGNOSTIC_EXPLAIN_ROWS:
        raise InputError(
            "scoring.explain_too_many", rows=n_rows, maximum=MAX_AGNOSTIC_EXPLAIN_ROWS, family=_short(family, 60)
        )


def _run_identifiers(session: Session, run: TrainingRun) -> tuple[str, ...]:
    """Identifier columns of the data the model was trained on (training drops them, so the run's own
    roles do not list them; the dataset version does)."""
    from mlcore.data.understanding import version_roles
    from mlcore.data.versions import get_version

    roles = {**dict(dict(run.run_config or {}).get("roles") or {})}
    with contextlib.suppress(NotFound):  # the training data's version was removed: the run's roles will do
        roles.update(version_roles(get_version(session=session, version_id=run.dataset_version_id)))
    return tuple(str(c) for c, r in roles.items() if r == "identifier")


def _check_columns_early(
    prepared: _Prepared, features: Sequence[str], key: str | None, segments: Sequence[str]
) -> None:
    """Refuse at once what the job would refuse later, when the columns are known before reading rows."""
    if prepared.columns is None:
        return
    present = set(prepared.columns)
    missing = [f for f in features if f not in present]
    if missing:
        shown = ", ".join(missing[:10]) + (f", … (+{len(missing) - 10})" if len(missing) > 10 else "")
        raise InputError("deploy.missing_features", columns=shown, count=len(missing))
    if key is not None and key not in present:
        raise InputError("deploy.key_column_missing", column=_short(key))
    absent = [c for c in segments if c not in present]
    if absent:
        raise InputError("deploy.columns_missing", columns=", ".join(absent[:10]))


def _active_job(session: Session, project_id: int, batch_key: str) -> int | None:
    jobs = session.exec(
        select(Job).where(Job.kind == "predict_batch", Job.project_id == project_id, col(Job.status).in_(ACTIVE))
    ).all()
    for job in jobs:
        if dict(job.params or {}).get("batch_key") == batch_key:
            return job.id
    return None


def submit_batch_scoring(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    model_ref: str,
    source: ScoringSource,
    actor_id: int,
    key_column: str | None = None,
    segment_columns: Sequence[str] | str = (),
    threshold: float | None = None,
    explain: bool = False,
    batch_key: str | None = None,
    launch: bool = True,
) -> int:
    """Check a batch-scoring request and queue (and start) the ``predict_batch`` job; return its id.

    What can be checked before reading the rows is checked now: the permission, the model reference,
    that the model was trained under the running scikit-learn, NumPy and joblib, the source (a SQL query
    is run now on a read-only connection and its result staged, so no password is stored), and, when the
    columns are known, that every feature, the key and the segment columns are there.

    Parameters
    ----------
    engine, settings
    project_id : int
    model_ref : str
        ``NAME`` (its production version), ``NAME@3``, ``NAME@production``, ``NAME@latest``…
        (:func:`~mlcore.modeling.tracking.resolve_model`).
    source : ScoringSource
    actor_id : int
        Needs ``predict.batch`` in the project.
    key_column : str, optional
        The column identifying each row (its values must be unique). Default: the first identifier column
        of the training data (or of the dataset version) present in the rows whose values are all there and
        unique, else the row's position (:data:`ROW_NUMBER_COLUMN`); the batch's source records which.
    segment_columns : sequence of str (or comma-separated text), at most 3
        Columns the dashboards can filter and group by.
    threshold : float, optional
        Two classes: the probability from which a row is predicted positive. Default: the threshold
        saved in the evaluation stage for the model, else 0.5. Regression: optional cut-off.
    explain : bool
        Store the three strongest SHAP reasons of each row (tree and linear models: any number of rows;
        other models at most :data:`MAX_AGNOSTIC_EXPLAIN_ROWS`). Whatever this says, batches of up to
        :data:`SHOWN_VALUES_MAX_ROWS` rows keep each row's feature values for the drill-down.
    batch_key : str, optional
        The batch's name; running a batch with the same name again replaces it. Default: derived from
        the source's content and the model version (:func:`~mlcore.deploy.batch.batch_key_for`).
    launch : bool, default True
        Start the job's process (tests and the CLI run it in-process with :func:`mlcore.jobs.run_job`).

    Returns
    -------
    int
        The job id (of the job already scoring the same batch, if one is running).

    Raises
    ------
    PermissionDenied
        Without ``predict.batch`` in the project.
    NotFound
        The model or its version, the dataset version.
    InputError
        ``modeling.env_mismatch``, ``tracking.bad_model_ref``, ``scoring.file_missing``,
        ``scoring.url_required``, ``ingest.sql_not_select`` (and the other refusals of a query),
        ``deploy.missing_features``, ``deploy.key_column_missing``, ``deploy.columns_missing``,
        ``deploy.too_many_segments``, ``deploy.bad_threshold``, ``deploy.bad_batch_key``,
        ``scoring.explain_too_many``, ``scoring.bad_source``.
    """
    if not isinstance(source, ScoringSource):
        raise InputError("scoring.bad_source", kind=_short(type(source).__name__, 40), kinds=", ".join(SOURCE_KINDS))
    try:
        return _submit(
            engine=engine,
            settings=settings,
            project_id=project_id,
            model_ref=model_ref,
            source=source,
            actor_id=actor_id,
            key_column=key_column,
            segment_columns=segment_columns,
            threshold=threshold,
            explain=explain,
            batch_key=batch_key,
            launch=launch,
        )
    except BaseException:
        if source.kind == "file" and source.path:  # an upload staged for this request is not needed any more
            _discard(settings, {"path": source.path})
        raise


def _submit(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    model_ref: str,
    source: ScoringSource,
    actor_id: int,
    key_column: str | None,
    segment_columns: Sequence[str] | str,
    threshold: float | None,
    explain: bool,
    batch_key: str | None,
    launch: bool,
) -> int:
    from mlcore.jobs import launch_job, submit_job
    from mlcore.modeling.environment import check_environment
    from mlcore.modeling.tracking import resolve_model

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="predict.batch", project_id=project_id)
        version = resolve_model(session=session, project_id=project_id, ref=model_ref)
        run = _run_of(session, version.run_id)
        check_environment(run.environment)
        features = list(run.features)
        explainer = _explainer_kind(version.family, run) if explain else None
    segments = _columns_option(segment_columns)
    if len(segments) > MAX_SEGMENTS:
        raise InputError("deploy.too_many_segments", maximum=MAX_SEGMENTS, count=len(segments))
    key = key_column.strip() if isinstance(key_column, str) and key_column.strip() else None
    cut = _threshold_option(threshold, task_type=version.task_type)
    name = _batch_key_option(batch_key)
    with session_scope(engine) as session:
        prepared = _prepare_source(session, settings, project_id, source)
    try:
        _check_columns_early(prepared, features, key, segments)
        _check_explain_rows(explainer, prepared.n_rows, version.family)
        name = name or batch_key_for(source=prepared.record, model_version_id=version.id)
        with session_scope(engine) as session:
            running = _active_job(session, project_id, name)
            if running is not None:
                _discard(settings, prepared.params)
                return running
            job = submit_job(
                session=session,
                kind="predict_batch",
                params={
                    "project_id": project_id,
                    "actor_id": actor_id,
                    "model_version_id": version.id,
                    "model_ref": version.ref,
                    "source": prepared.params,
                    "source_record": prepared.record,
                    "n_rows": prepared.n_rows,
                    "key_column": key,
                    "segment_columns": list(segments),
                    "threshold": cut,
                    "explain": bool(explain),
                    "batch_key": name,
                },
                actor_id=actor_id,
                project_id=project_id,
            )
            job_id = job.id or 0
    except BaseException:
        _discard(settings, prepared.params)
        raise
    if launch:
        launch_job(job_id, settings)
    return job_id


def _discard(settings: Settings, params: Mapping[str, Any]) -> None:
    """Remove a staged file (a query's result, an upload) once nothing needs it; never a user's own file."""
    raw = params.get("path")
    if isinstance(raw, str) and raw:
        path = Path(raw)
        if _is_staged(settings, path):
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the job


def _positive_class(session: Session, store: ArtifactStore, run: TrainingRun, classes: Sequence[Any]) -> Any:
    """The class whose probability is the score, as training and evaluation count it: 1 or True when a
    class is, else the rarer class of the training target (the saved threshold refers to it)."""
    if run.task_type != "classification" or len(classes) != 2:
        return None
    if any(isinstance(c, bool | np.bool_ | int | float | np.number) and c == 1 for c in classes):
        return None
    from mlcore.data.versions import get_version
    from mlcore.modeling.training import positive_label

    version = get_version(session=session, version_id=run.dataset_version_id)
    target = store.read_table(version.sha256, columns=[run.target]).column(0).to_pandas()
    known = {str(c) for c in classes}
    labels = target[target.notna() & target.astype(str).isin(known)]
    return str(positive_label(labels.astype(str))) if len(labels) else str(classes[-1])


def _saved_threshold(session: Session, project_id: int, model_version_id: int) -> float | None:
    try:
        from mlcore.modeling.evaluation_records import threshold_for_model_version
    except ImportError:  # the evaluation stage is optional for scoring
        return None
    return threshold_for_model_version(session=session, project_id=project_id, model_version_id=model_version_id)


@dataclass(frozen=True)
class _Rows:
    """The input: its chunks, how many rows (when known), the identifier columns its source records, and a
    reader of one whole column (to check that an identifier is unique before choosing it as the key)."""

    chunks: Iterator[pd.DataFrame]
    total: int | None
    identifiers: tuple[str, ...]
    column: Callable[[str], pa.ChunkedArray]


def _open_rows(
    store: ArtifactStore, settings: Settings, session: Session, project_id: int, source: Mapping[str, Any]
) -> _Rows:
    from mlcore.data.understanding import version_roles

    kind = source.get("kind")
    if kind == "dataset_version":
        version = _version_in_project(session, project_id, source.get("version_id"))
        path = store.verified_path(version.sha256)
        ids = tuple(c for c, r in version_roles(version).items() if r == "identifier")
        return _Rows(
            parquet_chunks(path, chunk_rows=CHUNK_ROWS or DEFAULT_CHUNK_ROWS),
            version.n_rows,
            ids,
            lambda name: pq.read_table(path, columns=[name]).column(0),
        )
    path = Path(str(source.get("path", "")))
    if not path.is_file():
        raise InputError("scoring.file_missing", path=_short(source.get("filename") or path.name, 300))
    if kind == "query" or _file_format(path) == "parquet":
        rows = pq.ParquetFile(str(path)).metadata.num_rows
        return _Rows(
            parquet_chunks(path, chunk_rows=CHUNK_ROWS or DEFAULT_CHUNK_ROWS),
            rows,
            (),
            lambda name: pq.read_table(path, columns=[name]).column(0),
        )
    table = _read_file(path, str(source.get("filename") or path.name), settings)
    return _Rows(table_chunks(table, chunk_rows=CHUNK_ROWS or DEFAULT_CHUNK_ROWS), table.num_rows, (), table.column)


def _automatic_key(rows: _Rows, columns: Sequence[str], *candidates: Sequence[str]) -> tuple[str | None, str | None]:
    """The first identifier column present whose values are all there and unique, and the first one that
    was present but repeats or has gaps (so the reader can be told why rows are keyed by position)."""
    import pyarrow.compute as pc

    present = set(columns)
    skipped = None
    for names in candidates:
        for name in names:
            if name not in present:
                continue
            values = rows.column(name)
            if values.null_count == 0 and pc.count_distinct(values).as_py() == len(values):
                return name, skipped
            skipped = skipped or name
    return None, skipped


def _key_text(values: pd.Series) -> pd.Series:
    """Row keys as text, missing ones kept missing: ids read as floats (a gap elsewhere in the column)
    lose their ``.0``, as :func:`~mlcore.deploy.batch.score_batch` would show them."""
    present = values.notna()
    if pd.api.types.is_float_dtype(values):
        whole = values[present]
        if bool((whole == np.floor(whole)).all()):
            out = pd.Series(None, index=values.index, dtype=object)
            out[present] = whole.astype("int64").astype(str)
            return out
    if values.dtype == object:
        return values.map(lambda v: v if isinstance(v, str) or v is None else (None if pd.isna(v) else str(v)))
    out = values.astype(str).astype(object)
    return out.where(present, None)


def _as_booleans(values: pd.Series) -> pd.Series:
    """A column the model learned as true/false, given as words or 0/1 (``yes``, ``no``, ``sí``…), as the
    import would have read it; anything else is kept as it is (and reported as a value never seen)."""
    from mlcore.data.ingest import _FALSE_WORDS, _TRUE_WORDS

    if pd.api.types.is_bool_dtype(values):
        return values

    def one(value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | float | np.number) and value in (0, 1):
            return bool(value)
        word = str(value).strip().lower()
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else value

    return values.astype(object).map(one)


def _model_frame(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """The feature columns with text numbers and dates converted (values that cannot be become missing:
    the scoring checks refuse such rows with a clear message before this is used for anything stored)."""
    X = frame[[s.name for s in specs]]
    converted: dict[str, Any] = {}
    for spec in specs:
        s = X[spec.name]
        if spec.kind == "numeric" and not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            converted[spec.name] = pd.to_numeric(s.astype("string").str.strip(), errors="coerce").astype("float64")
        elif spec.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(s):
            converted[spec.name] = pd.to_datetime(s.astype(object), errors="coerce", format="mixed")
    return X.assign(**converted) if converted else X


def _value_texts(series: pd.Series) -> list[str]:
    """Values as a reader sees them next to a reason: ``12`` rather than ``12.0``, dates without midnight."""
    out: list[str] = []
    for value in series.astype(object).tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            out.append(_MISSING_VALUE)
        elif isinstance(value, bool | np.bool_):
            out.append(str(bool(value)))
        elif isinstance(value, float | np.floating):
            number = float(value)
            out.append(str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.4g}")
        elif isinstance(value, pd.Timestamp | datetime):
            stamp = pd.Timestamp(value)
            out.append(stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(sep=" "))
        else:
            out.append(str(value)[:200])
    return out


def reasons_for_rows(
    pipeline: Any,
    frame: pd.DataFrame,
    *,
    key_column: str,
    class_label: Any = None,
    specs: Sequence[FeatureSpec] | None = None,
    top: int = _TOP_REASONS,
) -> pd.DataFrame:
    """The ``top`` strongest SHAP contributions of each row, as the long frame :func:`score_batch` takes.

    Every row is explained (no sample): tree models through SHAP's tree path, linear ones through the
    linear path, others with the permutation path a few hundred rows at a time. A two-class model is
    explained for ``class_label`` (its positive class); with more classes and no ``class_label``, each
    row is explained for the class it is predicted as.

    Parameters
    ----------
    pipeline : fitted Pipeline
    frame : DataFrame
        The rows, with the key column and every feature.
    key_column : str
    class_label : optional
    specs : sequence of FeatureSpec, optional
        :func:`~mlcore.deploy.batch.model_features` of the pipeline (computed when not given).
    top : int

    Returns
    -------
    DataFrame
        ``row_key``, ``feature``, ``value`` (as text), ``contribution``; ``top`` rows per key.

    Examples
    --------
    >>> from mlcore.modeling.training import build_pipeline
    >>> X = pd.DataFrame({"id": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 4.0], "z": [0.0, 1.0, 0.0, 1.0]})
    >>> pipe = build_pipeline("logistic_regression", task_type="classification",
    ...                       roles={"x": "numeric", "z": "numeric"}, features=["x", "z"]).fit(X, [0, 0, 1, 1])
    >>> r = reasons_for_rows(pipe, X, key_column="id", top=1)
    >>> list(r.columns), len(r), r["feature"].iloc[0]
    (['row_key', 'feature', 'value', 'contribution'], 4, 'x')
    """
    from mlcore.modeling.explain import choose_explainer, explain

    specs = tuple(specs) if specs is not None else model_features(pipeline)
    X = _model_frame(frame, specs).reset_index(drop=True)
    keys = frame[key_column].astype(object).to_numpy()
    step = _AGNOSTIC_SLICE if choose_explainer(pipeline).kind == "permutation" else max(1, len(X))
    classes = list(getattr(pipeline, "classes_", []))
    groups: list[tuple[Any, npt.NDArray[np.intp]]]
    if len(classes) > 2 and class_label is None:
        predicted = np.asarray(pipeline.predict(X), dtype=object)
        groups = [(c, np.flatnonzero(predicted == c)) for c in classes]
    else:
        groups = [(class_label, np.arange(len(X)))]
    parts: list[pd.DataFrame] = []
    for label, positions in groups:
        for start in range(0, len(positions), step):
            chosen = positions[start : start + step]
            if len(chosen) == 0:
                continue
            rows = X.iloc[chosen]
            result = explain(pipeline, rows, max_rows=len(rows), class_label=label)
            parts.append(_top_reasons(result.values, frame.iloc[chosen], keys[chosen], top))
    if not parts:
        return pd.DataFrame({"row_key": [], "feature": [], "value": [], "contribution": []})
    return pd.concat(parts, ignore_index=True)


def _top_reasons(values: pd.DataFrame, rows: pd.DataFrame, keys: npt.NDArray[Any], top: int) -> pd.DataFrame:
    contributions = values.to_numpy(dtype=np.float64)
    names = np.asarray(values.columns, dtype=object)
    k = min(top, contributions.shape[1])
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    n = len(contributions)
    texts = {name: _value_texts(rows[name]) for name in set(names[order].ravel()) if name in rows.columns}
    flat_rows = np.repeat(np.arange(n), k)
    flat_features = names[order].ravel()
    value_text = [texts[f][i] if f in texts else "" for i, f in zip(flat_rows, flat_features, strict=True)]
    return pd.DataFrame(
        {
            "row_key": np.repeat(keys, k),
            "feature": flat_features,
            "value": value_text,
            "contribution": contributions[flat_rows, order.ravel()],
        }
    )


@dataclass
class _Feed:
    """The input chunks as :func:`score_batch` reads them: keys as text (or made up from positions),
    true/false features given as words read as the import reads them, rows counted against the
    explanation cap, and each chunk handed to the drift measurement."""

    chunks: Iterator[pd.DataFrame]
    key_column: str
    make_key: bool
    explain_cap: int | None
    family: str
    watch: Callable[[pd.DataFrame], None] | None = None
    booleans: tuple[str, ...] = ()
    seen: int = 0

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for chunk in self.chunks:
            n = len(chunk)
            if self.explain_cap is not None and self.seen + n > self.explain_cap:
                raise InputError(
                    "scoring.explain_too_many",
                    rows=self.seen + n,
                    maximum=self.explain_cap,
                    family=_short(self.family, 60),
                )
            if self.make_key:
                chunk = chunk.assign(**{self.key_column: np.arange(self.seen, self.seen + n).astype(str)})
            elif self.key_column in chunk.columns:
                chunk = chunk.assign(**{self.key_column: _key_text(chunk[self.key_column])})
            words = [c for c in self.booleans if c in chunk.columns and not pd.api.types.is_bool_dtype(chunk[c])]
            if words:
                chunk = chunk.assign(**{c: _as_booleans(chunk[c]) for c in words})
            self.seen += n
            if self.watch is not None:
                self.watch(chunk)
            yield chunk


class _DriftWatch:
    """Drift of the scored rows against the model's training reference, for monitoring.

    Optional by design: any failure (no monitoring module, too few training rows, an odd chunk) turns it
    off with a log line; scoring never fails because of it.
    """

    def __init__(
        self, engine: Engine, store: ArtifactStore, project_id: int, model_version_id: int, scorer: Any
    ) -> None:
        self.engine, self.project_id = engine, project_id
        self.scorer = scorer
        self.drift: Any = None
        try:
            from mlcore.monitoring.records import batch_drift_for_model

            with session_scope(engine) as session:
                self.drift = batch_drift_for_model(
                    session=session, store=store, project_id=project_id, model_version_id=model_version_id
                )
        except Exception:  # noqa: BLE001 - drift is a bonus, never a reason to fail scoring
            log.info("no drift measured for model version %s", model_version_id, exc_info=True)

    def __call__(self, chunk: pd.DataFrame, X: pd.DataFrame) -> None:
        if self.drift is None:
            return
        try:
            self.drift.update(chunk, scores=self.scorer(X))
        except Exception:  # noqa: BLE001
            log.info("drift measurement stopped", exc_info=True)
            self.drift = None

    def record(self, batch_id: int, batch_key: str) -> str | None:
        if self.drift is None:
            return None
        try:
            from mlcore.monitoring.records import record_batch_drift

            report = self.drift.report(batch=batch_key)
            with session_scope(self.engine) as session:
                view = record_batch_drift(session=session, project_id=self.project_id, batch_id=batch_id, report=report)
            return str(getattr(view, "status", report.status))
        except Exception:  # noqa: BLE001
            log.warning("could not record the drift of batch %s", batch_id, exc_info=True)
            return None


def _scorer_for(pipeline: Any, positive: Any, threshold: float | None) -> Callable[[pd.DataFrame], Any]:
    """Scores as :func:`score_batch` stores them (the same scorer), for the drift of predictions."""
    from mlcore.deploy.batch import _make_scorer

    scorer = _make_scorer(pipeline, positive, threshold)
    return lambda X: scorer(pipeline, X).score


@job_kind("predict_batch")
def predict_batch_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: score rows with a registered model version into a prediction batch (see :func:`submit_batch_scoring`)."""
    source = dict(params.get("source") or {})
    try:
        return _score(ctx, params, source)
    finally:
        _discard(ctx.settings, source)


def _score(ctx: JobContext, params: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    from mlcore.deploy.batch import ScoringCancelled
    from mlcore.modeling.explain import choose_explainer
    from mlcore.modeling.tracking import get_model_version, load_model

    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="predict.batch", project_id=project_id)
        version = get_model_version(
            session=session, project_id=project_id, model_version_id=int(params["model_version_id"])
        )
        run = _run_of(session, version.run_id)
        pipeline = load_model(session=session, store=store, candidate_id=version.candidate_id, project_id=project_id)
        roles = {str(k): str(v) for k, v in dict(dict(run.run_config or {}).get("roles") or {}).items()}
        identifiers = _run_identifiers(session, run)
        threshold = params.get("threshold")
        if threshold is None and run.task_type == "classification":
            threshold = _saved_threshold(session, project_id, version.id)
        positive = _positive_class(session, store, run, list(getattr(pipeline, "classes_", [])))
        ctx.progress(0.01, "scoring.progress.reading")
        rows = _open_rows(store, ctx.settings, session, project_id, source)
    specs = model_features(pipeline, roles=roles)
    chunks, total = rows.chunks, rows.total
    first = next(chunks, None)
    columns = tuple(str(c) for c in first.columns) if first is not None else ()
    key = params.get("key_column") or None
    repeated = None
    if key is None:
        key, repeated = _automatic_key(rows, columns, identifiers, rows.identifiers)
    make_key = key is None
    if key is None:
        key = ROW_NUMBER_COLUMN
        while key in columns:
            key += "_"
    explain = bool(params.get("explain"))
    agnostic = explain and choose_explainer(pipeline).kind == "permutation"
    if agnostic and total is not None:
        _check_explain_rows("permutation", total, version.family)
    drift = _DriftWatch(ctx.engine, store, project_id, version.id, _scorer_for(pipeline, positive, threshold))

    def watch(chunk: pd.DataFrame) -> None:
        if drift.drift is not None and all(s.name in chunk.columns for s in specs):
            drift(chunk, _model_frame(chunk, specs))

    feed = _Feed(
        chunks=_chain(first, chunks),
        key_column=key,
        make_key=make_key,
        explain_cap=MAX_AGNOSTIC_EXPLAIN_ROWS if agnostic else None,
        family=version.family,
        watch=watch,
        booleans=tuple(s.name for s in specs if roles.get(s.name) == "boolean"),
    )
    reasons = None
    if explain:
        class_label = positive if positive is not None else _default_class(pipeline)

        def reasons(chunk: pd.DataFrame) -> pd.DataFrame:
            return reasons_for_rows(pipeline, chunk, key_column=key, class_label=class_label, specs=specs)

    # Each row's input values make the drill-down readable, but cost about half the writing time again:
    # kept for batches of known, moderate size only.
    keep_values = total is not None and total <= SHOWN_VALUES_MAX_ROWS
    shown = [s.name for s in specs][:MAX_SHOWN_COLUMNS] if keep_values else []

    def report(fraction: float, message: str, /, **values: Any) -> None:
        ctx.progress(0.03 + 0.94 * fraction, message, **values)

    record = dict(params.get("source_record") or {})
    record["model"] = str(params.get("model_ref") or version.ref)
    record["key_column"] = key
    if make_key and repeated is not None:
        record["key_repeats"] = repeated
    try:
        result: BatchResult = score_batch(
            feed,
            engine=ctx.engine,
            pipeline=pipeline,
            project_id=project_id,
            actor_id=actor_id,
            model_version_id=version.id,
            batch_key=str(params["batch_key"]),
            key_column=key,
            threshold=threshold,
            positive_class=positive,
            segment_columns=list(params.get("segment_columns") or ()),
            shown_columns=shown,
            reasons=reasons,
            roles=roles,
            source=record,
            total_rows=total,
            progress=report,
            chunk_rows=CHUNK_ROWS,
        )
    except ScoringCancelled:
        raise JobCancelled() from None
    ctx.report_rows(result.n_rows)
    drift_status = drift.record(result.batch_id, result.batch_key) if drift.drift is not None else None
    return {
        "batch_id": result.batch_id,
        "batch_key": result.batch_key,
        "label": result.batch_key,
        "n_rows": result.n_rows,
        "share_positive": result.summary.share_positive,
        "model_ref": version.ref,
        "replaced": list(result.replaced_batch_ids),
        "explained": explain,
        "key_column": key,
        "drift_status": drift_status,
        "seconds": round(result.seconds, 3),
    }


def _chain(first: pd.DataFrame | None, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    if first is not None:
        yield first
    yield from rest


def _default_class(pipeline: Any) -> Any:
    """Regression and more-than-two-class models: None (each row its predicted class)."""
    classes = list(getattr(pipeline, "classes_", []))
    if len(classes) == 2:
        return next((c for c in classes if isinstance(c, bool | np.bool_ | int | np.number) and c == 1), classes[-1])
    return None


# --------------------------------------------------------------------------- the deployment page


def default_threshold(*, session: Session, project_id: int, model_version_id: int) -> float | None:
    """The threshold the scoring form starts from: the one saved in the evaluation stage, else 0.5 for a
    classifier; None for regression. (A model with more than two classes uses no threshold: leave it unset.)"""
    from mlcore.modeling.tracking import get_model_version

    version = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
    if version.task_type != "classification":
        return None
    saved = _saved_threshold(session, project_id, model_version_id)
    return 0.5 if saved is None else float(saved)


def version_columns(version: VersionSummary) -> tuple[str, ...]:
    """The columns of a dataset version, in order (for the key and segment pickers)."""
    return tuple(str(c["name"]) for c in version.columns)


@dataclass(frozen=True)
class ModelOption:
    """A registered model version the scoring form offers (production versions first)."""

    ref: str
    model_version_id: int
    stage: str
    family: str
    task_type: str
    label: str


_STAGE_ORDER = {"production": 0, "staging": 1, "candidate": 2, "archived": 3}


def model_options(*, session: Session, project_id: int, lang: str = "en") -> list[ModelOption]:
    """Every registered model version of the project: production first, then staging, candidates and archived.

    Examples
    --------
    >>> from mlcore.store.engine import make_engine, upgrade_database
    >>> engine = make_engine("sqlite://")
    >>> upgrade_database(engine)
    >>> with session_scope(engine) as s:
    ...     model_options(session=s, project_id=1)
    []
    """
    from mlcore.modeling.tracking import list_registry

    versions = [v for m in list_registry(session=session, project_id=project_id) for v in m.versions]
    versions.sort(key=lambda v: (_STAGE_ORDER.get(v.stage, 9), v.name, -v.number))
    return [
        ModelOption(
            ref=v.ref,
            model_version_id=v.id,
            stage=v.stage,
            family=v.family,
            task_type=v.task_type,
            label=_t(
                "scoring.model_option",
                lang,
                ref=v.ref,
                stage=_t(f"tracking.stage.{v.stage}", lang),
                family=_t(f"modeling.family.{v.family}", lang),
            ),
        )
        for v in versions
    ]


def default_answers(*, session: Session, project_id: int) -> AdvisorAnswers:
    """The advisor's starting answers: the project's recorded ones, else the planning canvas's, else a daily batch."""
    from mlcore.planning.records import get_canvas

    history = mode_choice_history(session=session, project_id=project_id, limit=1)
    if history:
        return history[0].answers
    found = answers_from_canvas(get_canvas(session=session, project_id=project_id).canvas)
    return found or AdvisorAnswers(urgency="day", volume=1000, period="day", event_triggered=False)


def mode_choice_history(*, session: Session, project_id: int, limit: int = 20) -> tuple[ModeChoice, ...]:
    """The project's recorded deployment modes, newest first (the first is the one in force)."""
    rows = session.execute(
        select(DeploymentChoice, col(User.display_name), col(User.name))
        .join(User, col(User.id) == col(DeploymentChoice.decided_by_id))
        .where(col(DeploymentChoice.project_id) == project_id)
        .order_by(col(DeploymentChoice.decided_at).desc(), col(DeploymentChoice.id).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    out = []
    for row, display, name in rows:
        a = dict(row.answers or {})
        urgency = str(a.get("urgency", "day"))
        period = str(a.get("period", "day"))
        out.append(
            ModeChoice(
                id=row.id or 0,
                project_id=row.project_id,
                mode=row.mode,
                recommended=row.recommended,
                answers=AdvisorAnswers(
                    urgency if urgency in URGENCIES else "day",
                    int(a.get("volume", 0)),
                    period if period in PERIODS else "day",
                    bool(a.get("event_triggered", False)),
                ),
                reason=row.reason,
                decided_by=display or name,
                decided_at=row.decided_at,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class TradeoffCard:
    """One deployment mode's trade-offs in words, for a card on the page."""

    mode: str
    title: str
    recommended: bool
    pros: tuple[str, ...]
    cons: tuple[str, ...]


def tradeoff_cards(recommendation: Recommendation, *, lang: str = "en") -> tuple[TradeoffCard, ...]:
    """Each mode (the advised one first) with what it is good at and what to watch out for.

    Examples
    --------
    >>> from mlcore.deploy.advisor import check_answers, recommend_mode
    >>> rec = recommend_mode(check_answers(urgency="day", volume=10, period="day", event_triggered=False))
    >>> [(c.mode, c.recommended) for c in tradeoff_cards(rec)]
    [('batch', True), ('online', False), ('streaming', False)]
    """
    return tuple(
        TradeoffCard(
            mode=t.mode,
            title=_t(f"deploy.mode.{t.mode}", lang),
            recommended=t.mode == recommendation.mode,
            pros=t.pros_text(lang),
            cons=t.cons_text(lang),
        )
        for t in recommendation.tradeoffs
    )


def history_frame(choices: Sequence[ModeChoice], *, lang: str = "en") -> pd.DataFrame:
    """The recorded modes for display: when, who, chosen, advised, the answers and the reason."""
    return pd.DataFrame(
        [
            (
                c.decided_at,
                c.decided_by,
                _t(f"deploy.mode.{c.mode}", lang),
                _t(f"deploy.mode.{c.recommended}", lang),
                _t(
                    "scoring.answers_text",
                    lang,
                    urgency=_t(f"deploy.advisor.urgency.{c.answers.urgency}", lang),
                    volume=c.answers.volume,
                    period=_t(f"deploy.advisor.period.{c.answers.period}", lang),
                ),
                c.reason,
            )
            for c in choices
        ],
        columns=[
            _t("scoring.col.when", lang),
            _t("scoring.col.who", lang),
            _t("scoring.col.chosen", lang),
            _t("scoring.col.advised", lang),
            _t("scoring.col.answers", lang),
            _t("scoring.col.reason", lang),
        ],
    )


# --------------------------------------------------------------------------- the prediction dashboards


@dataclass(frozen=True)
class BatchOption:
    """A complete batch in the picker."""

    id: int
    label: str
    model_ref: str


def _model_refs(session: Session, project_id: int) -> dict[int, str]:
    from mlcore.modeling.tracking import list_registry

    return {v.id: v.ref for m in list_registry(session=session, project_id=project_id) for v in m.versions}


def batch_options(*, session: Session, project_id: int, lang: str = "en", limit: int = 200) -> list[BatchOption]:
    """The project's complete batches for the picker, newest first: name, model, when, rows."""
    from mlcore.deploy.dashboard import list_batches

    refs = _model_refs(session, project_id)
    out = []
    for b in list_batches(session=session, project_id=project_id, limit=limit):
        ref = refs.get(b.model_version_id, f"#{b.model_version_id}")
        when = b.completed_at.strftime("%Y-%m-%d %H:%M") if b.completed_at else ""
        out.append(
            BatchOption(
                id=b.id,
                label=_t("scoring.batch_option", lang, name=b.batch_key, model=ref, when=when, rows=b.n_rows),
                model_ref=ref,
            )
        )
    return out


def source_text(batch: BatchInfo, *, lang: str = "en") -> str:
    """Where the batch's rows came from, in words."""
    s = batch.source
    kind = s.get("kind")
    if kind == "dataset_version":
        return _t("scoring.source.version_text", lang, label=str(s.get("label", s.get("version_id", ""))))
    if kind == "file":
        return _t("scoring.source.file_text", lang, name=str(s.get("filename", "")))
    if kind == "query":
        return _t("scoring.source.query_text", lang, url=str(s.get("url", "")))
    return _t("scoring.source.other_text", lang)


def percent_text(share: float | None, *, lang: str = "en") -> str:
    """A share as a percentage with the reader's decimal mark, ``—`` when there is none.

    Examples
    --------
    >>> percent_text(0.1234, lang="es"), percent_text(None)
    ('12,3 %', '—')
    """
    if share is None or not math.isfinite(share):
        return _MISSING_VALUE
    text = f"{100 * share:.1f}"
    return f"{text.replace('.', ',')} %" if lang == "es" else f"{text}%"


def report_messages(batch: BatchInfo, *, lang: str = "en") -> list[str]:
    """What the input checks noticed (ignored columns, text converted, values never seen in training)."""
    return [f.message(lang) for f in batch.report.findings()]


def score_bounds(batch: BatchInfo) -> tuple[float, float]:
    """The range a score filter can take: [0, 1] for probabilities, else the batch's lowest and highest score."""
    if batch.score_kind == "probability":
        return 0.0, 1.0
    low = batch.summary.min_score if batch.summary.min_score is not None else 0.0
    high = batch.summary.max_score if batch.summary.max_score is not None else low
    return float(low), float(max(high, low))


def segment_values(batch: BatchInfo, segment: str) -> tuple[str | None, ...]:
    """The values of a segment column stored with the batch's summary (largest groups first)."""
    rows = batch.summary.segments.get(segment)
    return tuple(r.value for r in rows) if rows else ()


def row_filter(
    batch: BatchInfo,
    *,
    segments: Mapping[str, Sequence[str | None]] | None = None,
    score_range: tuple[float, float] | None = None,
    positive: bool | None = None,
) -> RowFilter:
    """A dashboard filter from the widgets' values; a score range covering everything is no filter.

    Examples
    --------
    >>> from mlcore.deploy.batch import InputReport
    >>> b = BatchInfo(1, 1, 1, "k", "classification", "probability", 0, 0.5, "1", ("0", "1"), ("region",), (),
    ...               (), {}, BatchSummary(0, 0, 0.0, None, None, None, ()), InputReport(()), "ana",
    ...               datetime(2025, 1, 1), None)
    >>> row_filter(b, segments={"region": []}, score_range=(0.0, 1.0)).empty
    True
    >>> row_filter(b, score_range=(0.7, 1.0)).min_score
    0.7
    """
    kept = {name: list(values) for name, values in (segments or {}).items() if values}
    low, high = score_bounds(batch)
    min_score = max_score = None
    if score_range is not None:
        a, b = float(score_range[0]), float(score_range[1])
        if a > low:
            min_score = a
        if b < high:
            max_score = b
    return RowFilter(segments=kept, min_score=min_score, max_score=max_score, positive=positive)


def histogram_figure(summary: BatchSummary, *, batch: BatchInfo, lang: str = "en") -> go.Figure:
    """The score distribution as bars (rows per score range), with the threshold as a dashed line."""
    bins = summary.histogram
    centres = [(b.low + b.high) / 2 for b in bins]
    widths = [max(b.high - b.low, 1e-12) * 0.95 for b in bins]
    hover = [_t("scoring.hist_hover", lang, low=f"{b.low:.3g}", high=f"{b.high:.3g}", count=b.count) for b in bins]
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=[b.count for b in bins],
            width=widths,
            hovertext=hover,
            hoverinfo="text",
            marker_color="#4c78a8",
        )
    )
    if batch.threshold is not None and batch.task_type == "classification" and len(batch.classes) == 2:
        fig.add_vline(
            x=batch.threshold,
            line_dash="dash",
            line_color="#e45756",
            annotation_text=_t("scoring.threshold_line", lang, threshold=f"{batch.threshold:.2f}"),
        )
    axis = "scoring.axis.probability" if batch.score_kind == "probability" else "scoring.axis.score"
    fig.update_layout(
        xaxis_title=_t(axis, lang, outcome=batch.positive_class or ""),
        yaxis_title=_t("scoring.axis.rows", lang),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=300,
        bargap=0.05,
    )
    return fig


def trend_figure(points: Sequence[TrendPoint], *, lang: str = "en") -> go.Figure:
    """Share predicted positive (or mean score) and rows scored across the batches, oldest first."""
    x = [p.completed_at for p in points]
    shares = [p.share_positive for p in points]
    use_share = any(s is not None for s in shares)
    y = [100 * s if s is not None else None for s in shares] if use_share else [p.mean_score for p in points]
    name = _t("scoring.trend.share" if use_share else "scoring.trend.mean", lang)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            name=name,
            text=[p.batch_key for p in points],
            hovertemplate="%{text}<br>%{y:.3g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(x=x, y=[p.n_rows for p in points], name=_t("scoring.trend.rows", lang), yaxis="y2", opacity=0.3)
    )
    fig.update_layout(
        yaxis={"title": name},
        yaxis2={"title": _t("scoring.trend.rows", lang), "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=300,
    )
    return fig


def segment_table(rows: Sequence[Any], *, batch: BatchInfo, lang: str = "en") -> pd.DataFrame:
    """A segment breakdown with translated headers: value, rows, share predicted positive, mean score."""
    missing = _t("deploy.segment.missing", lang)
    records = []
    for r in rows:
        record: dict[str, Any] = {
            _t("scoring.col.value", lang): missing if r.value is None else r.value,
            _t("scoring.col.rows", lang): r.n_rows,
        }
        if batch.has_positive:
            record[_t("scoring.col.share_positive", lang)] = percent_text(r.share_positive, lang=lang)
        record[_t("scoring.col.mean_score", lang)] = round(float(r.mean_score), 4)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _stored_text(value: Any) -> str:
    """A value kept with a prediction (JSON: numbers as floats, dates as ISO text) as a reader writes it."""
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        stamp = pd.Timestamp(value) if value[:4].isdigit() else None
        if stamp is not None and not pd.isna(stamp):
            return _value_texts(pd.Series([stamp]))[0]
    return _value_texts(pd.Series([value], dtype=object))[0]


def detail_frame(detail: RowDetail, *, lang: str = "en") -> pd.DataFrame:
    """The drill-down row's stored input values (and class probabilities) as two text columns.

    Examples
    --------
    >>> _stored_text(3.0), _stored_text("2025-05-14T00:00:00.000"), _stored_text(None), _stored_text(0.123456)
    ('3', '2025-05-14', '—', '0.1235')
    """
    records = [(str(k), _stored_text(v)) for k, v in detail.values.items()]
    for label, p in (detail.probabilities or {}).items():
        records.append((_t("scoring.probability_of", lang, label=label), f"{float(p):.3f}"))
    return pd.DataFrame(records, columns=[_t("scoring.col.column", lang), _t("scoring.col.value", lang)])


def top_frame(rows: Sequence[TopRow], *, batch: BatchInfo, lang: str = "en") -> pd.DataFrame:
    """The highest-score rows for display, each row's reasons on one line (``;`` between them)."""
    frame = rows_frame(rows, batch=batch, lang=lang)
    column = _t("deploy.csv.reasons", lang)
    if column in frame.columns:
        frame[column] = frame[column].str.replace("\n", "; ", regex=False)
    return frame


def csv_bytes(*, engine: Engine, project_id: int, batch_id: int, filters: RowFilter | None, lang: str = "en") -> bytes:
    """The filtered rows as one formula-safe CSV, at most 150,000 rows (:func:`~mlcore.deploy.dashboard.export_csv`)."""
    with session_scope(engine) as session:
        return b"".join(
            export_csv(session=session, project_id=project_id, batch_id=batch_id, filters=filters, lang=lang)
        )
