"""tenants and their public / secret keys; the default tenant

Revision ID: 0002
Revises: 0001
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    tenants = op.create_table('tenants',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assistant_name', sa.String(length=80), nullable=False),
    sa.Column('welcome', sa.Text(), nullable=False),
    sa.Column('colour', sa.String(length=16), nullable=False),
    sa.Column('allowed_origins', sa.JSON(), nullable=False),
    sa.Column('plugins', sa.JSON(), nullable=True),
    sa.Column('plugin_settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('tenant_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('tenant_keys', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_keys_tenant', ['tenant_id', 'kind'], unique=False)

    # the single-business deployment: everything before this revision belongs to it
    op.bulk_insert(tenants, [{
        'id': 'default', 'name': 'Default', 'status': 'active', 'assistant_name': 'Assistant', 'welcome': '',
        'colour': '#2563eb', 'allowed_origins': [], 'plugins': None, 'plugin_settings': {},
        'created_at': dt.datetime.now(dt.timezone.utc),
    }])


def downgrade() -> None:
    with op.batch_alter_table('tenant_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_keys_tenant')

    op.drop_table('tenant_keys')
    op.drop_table('tenants')
