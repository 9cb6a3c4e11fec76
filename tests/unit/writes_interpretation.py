"""Write paths of the Interpretation stage (issue 10), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

from mlcore.modeling.explain_records import request_explanation, save_review

WRITES = {
    "mlcore.modeling.explain_records.request_explanation": lambda s, ws, p, u: request_explanation(
        engine=ws.engine, settings=ws.settings, project_id=p, candidate_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.modeling.explain_records.save_review": lambda s, ws, p, u: save_review(
        session=s, actor=u, project_id=p, candidate_id=1, feature="a", verdict="plausible", expected_version=0
    ),
}
# Domain experts explain models (interpret.explain) and review their learned effects (interpret.review).
EXPERT_MAY = {"request_explanation", "save_review"}
