"""Libre Solar MPPT 1210 HUS charge controller over ThingSet text mode (serial, 115200 8N1)."""
