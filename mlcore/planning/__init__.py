"""Stage 1, Planning: from a business goal to an ML goal, a feasibility check and a go/no-go decision.

* :mod:`~mlcore.planning.canvas`: the objectives canvas and guided proposals for common objectives;
* :mod:`~mlcore.planning.checklist`: feasibility questions, answers and readiness;
* :mod:`~mlcore.planning.sufficiency`: data availability, learning curves, a trivial baseline;
* :mod:`~mlcore.planning.report`: the planning report (Markdown, HTML).
"""

from __future__ import annotations

from mlcore.planning.canvas import (
    METRICS,
    OBJECTIVE_TYPES,
    Canvas,
    PlanningInputError,
    Proposal,
    apply_proposal,
    canvas_completeness,
    meets_threshold,
    metric_direction,
    missing_essentials,
    propose_ml_goal,
    validate_canvas,
)
from mlcore.planning.checklist import (
    DIMENSIONS,
    Answer,
    ChecklistItem,
    Readiness,
    load_items,
    make_custom_item,
    readiness,
    validate_answer,
)

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "OBJECTIVE_TYPES",
    "Answer",
    "Canvas",
    "ChecklistItem",
    "PlanningInputError",
    "Proposal",
    "Readiness",
    "apply_proposal",
    "canvas_completeness",
    "load_items",
    "make_custom_item",
    "meets_threshold",
    "metric_direction",
    "missing_essentials",
    "propose_ml_goal",
    "readiness",
    "validate_answer",
    "validate_canvas",
]
