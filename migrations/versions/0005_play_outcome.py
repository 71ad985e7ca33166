"""play log: the slot's overrun policy apart from the outcome

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('play_reports', schema=None) as batch_op:
        batch_op.alter_column('status', new_column_name='outcome', existing_type=sa.String(length=12), existing_nullable=False)
        batch_op.add_column(sa.Column('overrun', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('play_reports', schema=None) as batch_op:
        batch_op.drop_column('overrun')
        batch_op.alter_column('outcome', new_column_name='status', existing_type=sa.String(length=12), existing_nullable=False)
