"""evaluation: Evaluation: comparisons, test-set uses, deploy decisions (issue 9)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of mlcore/store/models_evaluation.py are added here


def downgrade() -> None:
    pass
