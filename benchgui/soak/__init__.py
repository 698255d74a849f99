"""Soak: the whole simulated bench for many simulated hours, with faults, then a count of everything.

:func:`soak` assembles the demo bench — the wire-level simulators on real ptys and a real
loopback Modbus port, read by the real drivers — at ``speed`` × real time, records one session,
draws current with the EA load for part of every hour, and injects a fault every few simulated
minutes (:mod:`benchgui.soak.faults`: instruments unplugged and plugged back, garbage on the
line, InfluxDB stopped and started; the set is pluggable), dealt like cards: every kind once, in
random order, then again. When Debian's ``influxd`` is
installed, the bench forwards to a private one (:mod:`benchgui.soak.influx`) and the report also
counts the session's samples in InfluxDB. At the end it heals everything, stops the bench (load off, session
closed, store flushed) and compares counts at three points of every instrument's path:

* **produced** — what the simulator put on its wire: the EA's answers to actual-value queries
  (object 71; each complete poll needs one), the MPPT's publication statements written to the
  pty in full, the T7's answered AIN block reads;
* **published** — samples the bench's sources made of it (one ``battery.voltage.<id>`` sample per
  complete poll or statement; all channels counted too);
* **stored** — rows of the session in the local store.

Stored must equal published, channel by channel: nothing the bench accepted is lost. Published
may fall short of produced only by what a fault cut off (an answer on its way when the cable
went, a statement hit by garbage, a poll retried after a damaged answer) — the report shows that
difference beside the faults that explain it. Plus: nothing crashed (no traceback logged, no
unhandled task exception, no source restarted after an internal error), the load is off on the
device at the end, and the process grew by at most ``max_rss_growth_mb`` after the warm-up
(ring buffers full).

The package is test harness, not part of the app: the ``benchgui soak`` command
(:mod:`benchgui.cli.soak`) is its only user. :mod:`~benchgui.soak.run` runs it,
:mod:`~benchgui.soak.counting` counts, :mod:`~benchgui.soak.report` judges,
:mod:`~benchgui.soak.faults` and :mod:`~benchgui.soak.influx` are the faults and the InfluxDB side.
"""

from benchgui.soak.report import POLL_CHANNEL, InstrumentCounts, SoakReport, SoakSettings, judge
from benchgui.soak.run import rss_mb, soak

__all__ = ["POLL_CHANNEL", "InstrumentCounts", "SoakReport", "SoakSettings", "judge", "rss_mb", "soak"]
