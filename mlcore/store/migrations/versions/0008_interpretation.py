"""interpretation: Interpretation: explanations, expert reviews (issue 10)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of mlcore/store/models_interpretation.py are added here


def downgrade() -> None:
    pass
