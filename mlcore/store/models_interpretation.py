"""Tables of stage interpretation: Interpretation: explanations, expert reviews (issue 10).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0008_interpretation.py``.
"""

from __future__ import annotations
