"""Alembic migrations per service, run the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool, text

from cimis_chassis.database import prepare_sqlite_file, sync_url


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option(
        "sqlalchemy.url",
        sync_url(database_url).render_as_string(hide_password=False).replace("%", "%%"),
    )
    return config


def upgrade_to_head(script_location: Path, database_url: str) -> None:
    """Bring the database at ``database_url`` to the newest schema of the service."""
    prepare_sqlite_file(sync_url(database_url))
    command.upgrade(alembic_config(script_location, database_url), "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``: migrate online with a synchronous engine."""
    from alembic import context

    config = context.config
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Instances that start together on one database migrate one after the other;
                # the lock ends with this transaction.
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('cimis-alembic'))"))
            context.run_migrations()
