"""monitoring: Monitoring: drift reports, delayed labels, alerts (issue 12)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of mlcore/store/models_monitoring.py are added here


def downgrade() -> None:
    pass
