"""Embedded defaults: everything runs on one machine with no account and no network."""
