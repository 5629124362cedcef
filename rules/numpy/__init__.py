"""Rules for NumPy functions, split by topic."""
