#!/usr/bin/env python3
"""Thin shim: ``python scripts/analyze_errors.py ...`` is ``analyze-errors ...``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from error_analytics.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
