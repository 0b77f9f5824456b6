"""hingeflow: offline batch pipeline from hip-hinge lift footage to Parquet tables."""

__version__ = "0.1.0"
