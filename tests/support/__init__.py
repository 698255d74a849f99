"""Test infrastructure shared by several test areas and by ``benchmarks/fuzz.py``."""
