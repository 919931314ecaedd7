"""Alembic environment of udo's SQL adapters.

`SQLMetadataStore.migrate` runs it in-process: it passes an open connection, already in a
transaction and holding the migration lock, as ``config.attributes["connection"]``, and
commits when the upgrade returns. Run from the ``alembic`` command line (to write a new
revision, or ``upgrade --sql`` for a DBA), it connects to the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from udo.adapters.sql.metadata import SCHEMA, VERSION_TABLE


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SCHEMA,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things: later revisions use batch ("move and copy") mode.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # In an outer transaction (migrate()) this is a no-op; the caller commits.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one to ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "set sqlalchemy.url in alembic.ini to run these migrations from the alembic command"
        )
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """Write the SQL of the upgrade instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=SCHEMA,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
