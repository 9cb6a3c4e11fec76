"""Write paths of the Evaluation stage (issue 9), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

from mlcore.modeling.evaluation_records import (
    record_deploy_decision,
    save_evaluation_settings,
    save_threshold,
    submit_evaluation,
)

WRITES = {
    "mlcore.modeling.evaluation_records.submit_evaluation": lambda s, ws, p, u: submit_evaluation(
        engine=ws.engine, settings=ws.settings, project_id=p, candidate_ids=[1], mode="oof", actor_id=u.id, launch=False
    ),
    "mlcore.modeling.evaluation_records.save_threshold": lambda s, ws, p, u: save_threshold(
        session=s, actor=u, project_id=p, candidate_id=1, threshold=0.5
    ),
    "mlcore.modeling.evaluation_records.save_evaluation_settings": lambda s, ws, p, u: save_evaluation_settings(
        session=s, actor=u, project_id=p, sensitive_columns=["a"]
    ),
    "mlcore.modeling.evaluation_records.record_deploy_decision": lambda s, ws, p, u: record_deploy_decision(
        session=s, store=ws.store, actor=u, project_id=p, candidate_id=1, outcome="no_go", rationale="no"
    ),
}
