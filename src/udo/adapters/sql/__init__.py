"""Adapters backed by SQL databases (SQLite, PostgreSQL, MySQL/MariaDB).

Importing this package imports no database library; each module imports what it uses.
The MetadataStore's schema changes are Alembic revisions in ``migrations/``, shipped
inside the package and applied by `SQLMetadataStore.migrate`.
"""
