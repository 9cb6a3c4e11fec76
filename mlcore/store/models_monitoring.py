"""Tables of stage monitoring: Monitoring: drift reports, delayed labels, alerts (issue 12).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0010_monitoring.py``.
"""

from __future__ import annotations
