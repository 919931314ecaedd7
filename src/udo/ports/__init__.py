"""Ports: one ABC per module, each method's contract written in its docstring."""
