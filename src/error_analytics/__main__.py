"""``python -m error_analytics`` runs the ``analyze-errors`` command."""

from .cli import main

raise SystemExit(main())
