"""Tables of stage preparation: Data preparation: recipes (issue 7).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0006_preparation.py``.
"""

from __future__ import annotations
