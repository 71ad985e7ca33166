"""approved script versions, document status audit, token expiry

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('productions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_approved_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('legal_approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_version', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_productions_legal_approved_by_id_users'), 'users', ['legal_approved_by_id'], ['id']
        )
    # Before this revision an approval covered whatever the current version was; keep that meaning for old rows.
    op.execute(
        "UPDATE productions SET approved_version = current_version, legal_approved_version = current_version "
        "WHERE status IN ('approved', 'published', 'withdrawn')"
    )
    op.execute(
        "UPDATE productions SET legal_approved_version = current_version WHERE status = 'legally_approved'"
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'document_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=20), nullable=False),
        sa.Column('to_status', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=120), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('affected', sa.JSON(), nullable=False),
        sa.Column('at', db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_document_events_actor_id_users')),
        sa.ForeignKeyConstraint(
            ['document_id'], ['documents.id'], name=op.f('fk_document_events_document_id_documents'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_events')),
    )
    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_events_document_id'), ['document_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_events_document_id'))
    op.drop_table('document_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('productions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_productions_legal_approved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('approved_version')
        batch_op.drop_column('legal_approved_by_id')
        batch_op.drop_column('legal_approved_version')
