"""passwords, browser sessions and sign-in lock-out for the staff web application

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('failed_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_failed_at', db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_login_at', db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash')),
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('last_failed_at')
        batch_op.drop_column('failed_count')
        batch_op.drop_column('password_hash')
