"""Tables of stage modeling: Modeling: training runs, model registry (issue 8).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0005_modeling.py``.
"""

from __future__ import annotations
