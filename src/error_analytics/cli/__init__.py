"""The command line: ``analyze-errors`` and the host's ``scripts/analyze_errors.py``.

:mod:`.main` is ``analyze-errors`` (its parser and exit statuses), wired from :mod:`.options`
(the shared database options), :mod:`.review` (``clusters ...``, ``--review``), :mod:`.serve`
(``serve``), :mod:`.cluster_input` with :mod:`.parsing_input` (``--cluster --input FILE``) and
:mod:`.progress` (the terminal progress bar). :mod:`.host` is the host application's
``ErrorAnalysisCLI`` and the ``main`` of ``scripts/analyze_errors.py``.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
