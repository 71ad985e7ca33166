"""an emergency bulletin is marked as one, not recognised by its title

Revision ID: 0008
Revises: 0007

Bulletins made before this revision are marked when their title starts as the emergency page writes it or their
first script version opens with the emergency announcement (studio.engine.text.scripts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TITLE_PREFIX = "Khẩn cấp: "
ANNOUNCEMENT = "Thông báo khẩn cấp!"


def upgrade() -> None:
    with op.batch_alter_table("productions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency", sa.Boolean(), server_default=sa.false(), nullable=False))
    productions = sa.table(
        "productions",
        sa.column("id", sa.Integer),
        sa.column("format", sa.String),
        sa.column("title", sa.String),
        sa.column("emergency", sa.Boolean),
    )
    versions = sa.table(
        "script_versions",
        sa.column("production_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("lines", sa.JSON),
    )
    bind = op.get_bind()
    first_lines = bind.execute(
        sa.select(versions.c.production_id, versions.c.lines)
        .join(productions, productions.c.id == versions.c.production_id)
        .where(versions.c.version == 1, productions.c.format == "loudspeaker")
    )
    rows = list(first_lines)
    announced = [pid for pid, lines in rows if _announces(lines)]
    titled = sa.and_(productions.c.format == "loudspeaker", productions.c.title.startswith(TITLE_PREFIX, autoescape=True))
    bind.execute(sa.update(productions).where(titled).values(emergency=True))
    for start in range(0, len(announced), 500):
        bind.execute(sa.update(productions).where(productions.c.id.in_(announced[start : start + 500])).values(emergency=True))


def _announces(lines: object) -> bool:
    first = lines[0] if isinstance(lines, list) and lines else None
    return isinstance(first, dict) and str(first.get("text", "")).startswith(ANNOUNCEMENT)


def downgrade() -> None:
    with op.batch_alter_table("productions", schema=None) as batch_op:
        batch_op.drop_column("emergency")
