"""Tables of stage preparation: Data preparation: recipes (issue 7).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0006_preparation.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class RecipeRecord(SQLModel, table=True):
    """One saved version of a named preparation recipe (immutable: editing saves the next version).

    ``steps``, ``columns``, ``target``, ``notes`` and ``source`` are what
    :meth:`mlcore.data.prepare.recipe.Recipe.to_dict` writes; ``fingerprint`` is
    :attr:`~mlcore.data.prepare.recipe.Recipe.fingerprint` (what decides the output).
    """

    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=100)
    version: int
    # [{"kind": ..., "params": {...}, "note": ...}] in order
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    columns: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    target: str | None = Field(default=None, max_length=1000)
    notes: str = Field(default="", max_length=10000)
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fingerprint: str = Field(max_length=64, index=True)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
