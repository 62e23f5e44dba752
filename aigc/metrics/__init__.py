"""Sample-quality metrics computed in NumPy, the same for every backend."""
