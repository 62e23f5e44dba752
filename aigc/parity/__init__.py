"""Cross-backend parity: tolerances, traces and the comparison table."""
