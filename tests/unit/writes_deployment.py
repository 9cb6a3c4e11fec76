"""Write paths of the Deployment stage (issue 11), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlcore.deploy.advisor import AdvisorAnswers, record_mode_choice
from mlcore.deploy.batch import score_batch
from mlcore.deploy.scoring import ScoringSource, submit_batch_scoring


def _tiny_model() -> Any:
    """A fitted model on named columns: score_batch checks the model before the role."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(pd.DataFrame({"a": [0.0, 1.0, 0.0, 1.0]}), [0, 1, 0, 1])


WRITES = {
    "mlcore.deploy.advisor.record_mode_choice": lambda s, ws, p, u: record_mode_choice(
        session=s, project_id=p, answers=AdvisorAnswers("day", 100, "day", False), mode="batch", actor=u
    ),
    "mlcore.deploy.batch.score_batch": lambda s, ws, p, u: score_batch(
        pd.DataFrame({"k": ["x", "y"], "a": [0.0, 1.0]}),
        engine=ws.engine,
        pipeline=_tiny_model(),
        project_id=p,
        actor_id=u.id,
        model_version_id=1,
        batch_key="b",
        key_column="k",
    ),
    "mlcore.deploy.scoring.submit_batch_scoring": lambda s, ws, p, u: submit_batch_scoring(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        model_ref="churn",
        source=ScoringSource.dataset_version(1),
        actor_id=u.id,
        launch=False,
    ),
}
