"""The vectorised synthetic data generator: specs compiled to column sources, streamed in chunks."""
