"""Tables of stage deployment: Deployment: deployment mode, prediction batches (issue 11).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0009_deployment.py``.
"""

from __future__ import annotations
