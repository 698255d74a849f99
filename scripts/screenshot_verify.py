"""Render the verification view of a stored session into a PNG, offscreen (for the README).

    benchgui import ../shared/data/bench-2021-05-28-grafana-epoch-ms.csv --store /tmp/s.sqlite3
    QT_QPA_PLATFORM=offscreen python scripts/screenshot_verify.py --store /tmp/s.sqlite3 \\
        --session latest --plot battery.current.mppt --output docs/screenshots/verify-view.png
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", required=True)
    p.add_argument("--session", default="latest")
    p.add_argument("--plot", default="battery.current.mppt", help="device channel of the comparison to plot")
    p.add_argument("--output", default="docs/screenshots/verify-view.png")
    p.add_argument("--size", default="1400x950")
    args = p.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from benchgui.clock import WallClock
    from benchgui.config import load_config
    from benchgui.core.bench import Bench
    from benchgui.core.verification import VerificationService
    from benchgui.recording.store import Store
    from benchgui.widgets.verify_view import VerifyView

    with Store(args.store, readonly=True) as store:
        sid = store.session(args.session).id
    svc = VerificationService(Bench(WallClock(), [], None), load_config(None).config.verify, args.store)
    try:
        view = VerifyView(svc)
        w, h = (int(x) for x in args.size.split("x"))
        view.resize(w, h)
        view.show()
        view.source_combo.setCurrentIndex(view.source_combo.findData(sid))
        view.show_origin(sid)
        deadline = time.monotonic() + 60
        while (view.current is None or view.current.origin != sid) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        if view.current is None:
            print("no result within 60 s", file=sys.stderr)
            return 1
        titles = [c.device_channel for c in view.current.result.comparisons]
        if args.plot in titles:
            view.comparison_combo.setCurrentIndex(titles.index(args.plot))
        view.table.clearSelection()  # keep the green/red cells visible
        for _ in range(20):
            app.processEvents()
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = view.grab().save(str(out))
        print(f"{out}: {'written' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        svc.close()


if __name__ == "__main__":
    raise SystemExit(main())
