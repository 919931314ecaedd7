"""Cleaning engines: polars (fast path default), pandas, Spark (heavy path)."""
