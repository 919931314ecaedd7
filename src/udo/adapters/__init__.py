"""Adapters implement ports, one package per provider."""
