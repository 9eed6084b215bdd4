"""Refresh ``docs/dashboard.png``: runs the browser test that takes the screenshot.

    python scripts/screenshot_dashboard.py

Needs what the browser tests need: ``pip install playwright`` and Debian's ``chromium``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "dashboard.png"

if __name__ == "__main__":
    env = {**os.environ, "ERROR_ANALYTICS_SCREENSHOT": str(TARGET)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_browser.py",
        "-k",
        "screenshot",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    code = subprocess.call(command, cwd=ROOT, env=env)
    if code == 0:
        print(f"Wrote {TARGET.relative_to(ROOT)}")
    raise SystemExit(code)
