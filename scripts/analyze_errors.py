#!/usr/bin/env python3
"""``python scripts/analyze_errors.py ...``: the host's script, with every ``analyze-errors`` option.

The host's own flags (``--summary``, ``--phase``, ``--patterns``, ``--trends``,
``--recommendations``, ``--report``) run through ``ErrorAnalysisCLI``, as they did in the host;
everything else is ``analyze-errors`` (see :mod:`error_analytics.cli.host`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from error_analytics.cli.host import main

if __name__ == "__main__":
    raise SystemExit(main())
