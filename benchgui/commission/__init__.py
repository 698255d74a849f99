"""``benchgui commission``: walk each configured instrument once and write what it did.

:mod:`.steps` runs one check with a time limit and, when it fails, keeps what was sent and what
came back (from the wire trace); :mod:`.checks` holds the checks per instrument; :mod:`.report`
writes the JSON and HTML report. The command itself is :mod:`benchgui.cli.commission`.
"""
