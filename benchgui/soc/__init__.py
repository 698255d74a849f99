"""State of charge: cell model, sigma-point Kalman filter, identification (numpy/scipy only)."""
