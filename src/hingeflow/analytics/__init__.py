"""Hinge analytics: per-frame signals -> reps -> per-rep metrics and faults -> sets and breakdown.

Everything here is pure (arrays and data frames in, arrays and data frames out).
"""
