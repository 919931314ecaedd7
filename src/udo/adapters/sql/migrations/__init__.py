"""The Alembic environment of udo's SQL adapters (see `SQLMetadataStore.migrate`)."""
