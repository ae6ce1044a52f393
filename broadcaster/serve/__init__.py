"""``broadcast serve``: the subscriber's side of broadcaster, as a small web application.

One-click unsubscribe (RFC 8058) with an undo and preferences, sign-up with double opt-in
(a hosted page and an embeddable form), the banner files, ``/healthz`` and ``/metrics`` --
on the same config and ledger database as the worker. Built on Starlette and served by
uvicorn, which come with the ``serve`` extra: ``pip install 'broadcaster[serve]'``.

Modules: :mod:`.app` (wiring, pages), :mod:`.signup`, :mod:`.unsubscribe`, :mod:`.files`,
:mod:`.ops`, :mod:`.confirm` (the confirmation email), :mod:`.signing` (tokens),
:mod:`.guard` (rate limits, body cap, CSRF origin check), :mod:`.run` (the commands).
"""

from __future__ import annotations

import importlib

from broadcaster.errors import SetupError

EXTRA_HINT = "pip install 'broadcaster[serve]'"


def require_extra() -> None:
    """Starlette, uvicorn and python-multipart are importable, or one clear SetupError."""
    missing = []
    for name in ("starlette", "uvicorn", "python_multipart"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SetupError(
            "broadcast serve",
            f"needs the 'serve' extra ({', '.join(missing)} not installed)",
            EXTRA_HINT,
        )
