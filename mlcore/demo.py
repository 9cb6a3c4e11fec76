"""The demo project: a synthetic customer-churn dataset with planted problems, seeded idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.config import Settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, Progress, _no_progress, save_table
from mlcore.projects import ProjectCreate, create_project, get_or_create_user
from mlcore.store.engine import session_scope
from mlcore.store.models import Dataset, Project

DEMO_PROJECT = "Demo: customer churn"
DEMO_USER = "demo"
DEMO_ROWS = 20_000
DEMO_SEED = 42


@dataclass(frozen=True)
class DemoSeed:
    project_id: int
    created: bool
    version_labels: tuple[str, ...]


def _scaled(progress: Progress, start: float, span: float) -> Progress:
    def report(fraction: float, key: str) -> None:
        progress(start + span * fraction, key)

    return report


def seed_demo(
    *, engine: Engine, settings: Settings, n_rows: int = DEMO_ROWS, progress: Progress = _no_progress
) -> DemoSeed:
    """Create the demo project with this month's and next month's churn data, unless it exists.

    Running it again changes nothing (idempotent).
    """
    from mlcore.data.synthetic import make_churn

    with session_scope(engine) as s:
        user = get_or_create_user(session=s, name=DEMO_USER, display_name="Demo")
        project = s.exec(select(Project).where(Project.name == DEMO_PROJECT)).first()
        if project is None:
            project = create_project(
                session=s,
                data=ProjectCreate(
                    name=DEMO_PROJECT,
                    description=(
                        "Predict which subscription customers will cancel next month. "
                        "Synthetic data with problems planted on purpose (missing values, outliers, "
                        "duplicates, flipped labels, a leaky column) to practise every stage."
                    ),
                    task_type="classification",
                ),
                actor=user,
            )
        project_id, user_id = project.id or 0, user.id or 0
        existing = s.exec(select(Dataset).where(Dataset.project_id == project_id)).first()
    if existing is not None:
        return DemoSeed(project_id=project_id, created=False, version_labels=())
    progress(0.05, "demo.generating")
    demo = make_churn(n_rows, random_state=DEMO_SEED)
    store = ArtifactStore(settings.artifacts_dir)
    sidecar = store.put_bytes(demo.problems.to_json().encode("utf-8"))
    with session_scope(engine) as s:
        register_artifact(session=s, ref=sidecar, kind="json", actor_id=user_id)
    labels = []
    batches = (("churn", demo.current, 0.1), ("churn_next_month", demo.next_month, 0.55))
    for name, frame, start in batches:
        loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic", encoding=None, delimiter=None))
        version = save_table(
            engine=engine,
            store=store,
            loaded=loaded,
            where=ImportTarget(project_id=project_id, dataset_name=name, target=demo.problems.target),
            actor_id=user_id,
            operation="synthetic",
            recipe={
                "generator": "churn",
                "n_rows": n_rows,
                "random_state": DEMO_SEED,
                "batch": name,
                "planted_problems_sha256": sidecar.sha256,
            },
            progress=_scaled(progress, start, 0.45),
        )
        labels.append(version.label)
    return DemoSeed(project_id=project_id, created=True, version_labels=tuple(labels))
