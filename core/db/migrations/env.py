"""Alembic environment: runs on the engine the app hands over (never reads an ini file).

Every revision runs inside the one transaction of that engine's connection; before it
commits, the foreign keys of the whole DB are checked (they are off during an upgrade,
see core.db.database), so a migration that broke a reference is rolled back whole.
"""

from __future__ import annotations

from alembic import context

from core.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
        )
        context.run_migrations()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(
                f"the schema upgrade would break {len(broken)} foreign key reference(s), "
                f"e.g. {tuple(broken[0])}; rolled back"
            )


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
