"""firesight — fire prediction from physics-based synthetic Lepton 3.5 + SCD41 data."""

__version__ = "0.1.0"
