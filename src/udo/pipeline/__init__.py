"""The medallion pipeline: Bronze landing and ingest (Silver and Gold come later)."""
