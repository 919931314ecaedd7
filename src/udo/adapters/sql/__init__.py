"""SQL adapters: the MySQL, PostgreSQL and Azure Synapse destinations and what every SQL
destination shares (the metadata store's SQLAlchemy adapter lives here too, in `metadata`).

`dialect` (and `tsql` for Synapse) holds identifier quoting, type mapping and statement
text per dialect (pure: no driver); `values` converts Arrow data to what drivers and bulk
formats take; `base` implements the `Destination` contract once over DB-API connections.
Drivers are imported only inside the adapter that uses them, when it first connects.
"""
