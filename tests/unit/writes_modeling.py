"""Write paths of the Modeling stage (issue 8), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

from mlcore.modeling.tracking import (
    TrainingSpec,
    export_package,
    register_model,
    set_notes_and_tags,
    set_run_notes_and_tags,
    submit_reproduce,
    submit_training,
    transition_stage,
)

_SPEC = TrainingSpec(target="y", features=("a",), families=("dummy",), metrics=("roc_auc",))

WRITES = {
    "mlcore.modeling.tracking.submit_training": lambda s, ws, p, u: submit_training(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, spec=_SPEC, actor_id=u.id, launch=False
    ),
    "mlcore.modeling.tracking.submit_reproduce": lambda s, ws, p, u: submit_reproduce(
        engine=ws.engine, settings=ws.settings, project_id=p, run_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.modeling.tracking.set_notes_and_tags": lambda s, ws, p, u: set_notes_and_tags(
        session=s, actor=u, project_id=p, candidate_id=1, notes="ok", tags=["a"], expected_version=1
    ),
    "mlcore.modeling.tracking.set_run_notes_and_tags": lambda s, ws, p, u: set_run_notes_and_tags(
        session=s, actor=u, project_id=p, run_id=1, notes="ok", tags=["a"], expected_version=1
    ),
    "mlcore.modeling.tracking.register_model": lambda s, ws, p, u: register_model(
        session=s, actor=u, project_id=p, candidate_id=1, name="churn"
    ),
    "mlcore.modeling.tracking.transition_stage": lambda s, ws, p, u: transition_stage(
        session=s, actor=u, project_id=p, model_version_id=1, stage="staging", expected_version=1
    ),
    "mlcore.modeling.tracking.export_package": lambda s, ws, p, u: export_package(
        session=s, store=ws.store, actor=u, project_id=p, candidate_id=1
    ),
}
# Domain experts may write notes and tags on runs (model.annotate).
EXPERT_MAY = {"set_notes_and_tags", "set_run_notes_and_tags"}
