"""The Flask API (a later issue)."""
