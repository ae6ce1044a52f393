"""broadcaster: one place to announce a notice on every channel, each message exactly once.

The data flow, one module per stage::

    config -> sources -> notices -> schedule -> render -> ledger -> channels
                                                     \\-> dispatch (one pass) <- cli / worker
"""

import sys

__version__ = "0.1.0"

# ``import httpx`` also imports httpx's own command-line client whenever what that needs is
# installed -- click, pygments, rich's progress bars, here because typer and rich are -- which
# is 30 ms of every run that posts anything. broadcaster never runs that client: marked
# missing, httpx falls back to its stub (``httpx.main`` then asks for ``pip install
# 'httpx[cli]'``), in this process only; the ``httpx`` command itself is unaffected.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
