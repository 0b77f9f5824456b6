"""How hingeflow is measured: frozen splits, labels of the real clips, and scoring (pure)."""
