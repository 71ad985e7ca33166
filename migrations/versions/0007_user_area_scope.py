"""area scope of a user: a commune officer or a district office sees only that area and what lies beneath it

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_area_id'), ['area_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_area_id_areas'), 'areas', ['area_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_area_id_areas'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_area_id'))
        batch_op.drop_column('area_id')
