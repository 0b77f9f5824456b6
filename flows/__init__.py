"""Prefect flows of hingeflow: thin wiring of the stages in `hingeflow.pipeline`."""
