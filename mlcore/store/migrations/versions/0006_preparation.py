"""preparation: Data preparation: recipes (issue 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reciperecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name', 'version')
    )
    with op.batch_alter_table('reciperecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reciperecord_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_reciperecord_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reciperecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reciperecord_project_id'))
        batch_op.drop_index(batch_op.f('ix_reciperecord_fingerprint'))

    op.drop_table('reciperecord')
