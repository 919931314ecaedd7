"""Azure adapters, one module per port; selected by `UDO_CLOUD=azure` (see bootstrap)."""
