"""udo: the Universal AI Data Orchestrator."""

__version__ = "0.1.0"
