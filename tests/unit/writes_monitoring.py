"""Write paths of the Monitoring stage (issue 12), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

import pandas as pd

from mlcore.monitoring.alerts import DriftRule
from mlcore.monitoring.records import (
    import_outcomes,
    promote_challenger,
    save_alert_rules,
    submit_challenger,
    submit_comparison,
    submit_drift,
)

WRITES = {
    "mlcore.monitoring.records.submit_drift": lambda s, ws, p, u: submit_drift(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        actor_id=u.id,
        model_version_id=1,
        version_id=1,
        launch=False,
    ),
    "mlcore.monitoring.records.import_outcomes": lambda s, ws, p, u: import_outcomes(
        engine=ws.engine,
        project_id=p,
        actor_id=u.id,
        data=pd.DataFrame({"k": ["a"], "y": [1]}),
        key_column="k",
        outcome_column="y",
    ),
    "mlcore.monitoring.records.save_alert_rules": lambda s, ws, p, u: save_alert_rules(
        session=s, actor=u, project_id=p, rules=[DriftRule()], expected_version=0
    ),
    "mlcore.monitoring.records.submit_challenger": lambda s, ws, p, u: submit_challenger(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        model_version_id=1,
        version_id=1,
        actor_id=u.id,
        launch=False,
    ),
    "mlcore.monitoring.records.submit_comparison": lambda s, ws, p, u: submit_comparison(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        model_version_id=1,
        challenger_id=2,
        version_id=1,
        actor_id=u.id,
        launch=False,
    ),
    "mlcore.monitoring.records.promote_challenger": lambda s, ws, p, u: promote_challenger(
        session=s, actor=u, project_id=p, comparison_id=1, reason="better"
    ),
}
