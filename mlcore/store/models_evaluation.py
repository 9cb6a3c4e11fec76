"""Tables of stage evaluation: Evaluation: comparisons, test-set uses, deploy decisions (issue 9).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0007_evaluation.py``.
"""

from __future__ import annotations
