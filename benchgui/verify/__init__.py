"""Sensor verification: time alignment of sources, error statistics, reports."""
