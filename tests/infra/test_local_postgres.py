"""The PostgreSQL test database accepts SQLAlchemy connections; extra databases are isolated."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from cimis_devtools.postgres_local import LocalPostgres

pytestmark = [pytest.mark.postgres]


def test_create_insert_select(postgres_url: str) -> None:
    table_name = f"infra_check_{uuid.uuid4().hex[:10]}"
    metadata = sa.MetaData()
    table = sa.Table(
        table_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    engine = sa.create_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                table.insert(), [{"id": 1, "name": "Chemnitz"}, {"id": 2, "name": "Görlitz"}]
            )
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)).all()
        assert [tuple(row) for row in rows] == [(1, "Chemnitz"), (2, "Görlitz")]
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_create_database_is_isolated(local_postgres: LocalPostgres) -> None:
    name = f"iso_{uuid.uuid4().hex[:10]}"
    url = local_postgres.create_database(name)
    isolated = sa.create_engine(url)
    default = sa.create_engine(local_postgres.url)
    try:
        with isolated.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (id integer)"))
        with isolated.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == name
        with default.connect() as conn:
            visible = conn.execute(sa.text("SELECT to_regclass('only_here')")).scalar()
        assert visible is None
    finally:
        isolated.dispose()
        default.dispose()
        local_postgres.drop_database(name)
