"""preparation: Data preparation: recipes (issue 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of mlcore/store/models_preparation.py are added here


def downgrade() -> None:
    pass
