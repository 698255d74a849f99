"""Test and soak support shipped with the package, never imported by the app.

Lives in the package (not under ``tests/``) because ``benchgui soak`` uses it on an installed
bench too; ``tests/test_packaging.py`` checks that nothing else in ``benchgui`` imports it.
"""
