"""Running the web application: ``broadcast serve``, and beside the worker
(``broadcast worker --serve``) in the same process and event loop.

uvicorn serves it, trusting ``X-Forwarded-For``/``-Proto`` only from
``serve.trusted_proxies`` and taking the path prefix from ``serve.public_url`` (the proxy
strips it; links and form actions put it back). SIGTERM or SIGINT stop it cleanly -- in
worker mode together with the worker, which first finishes the pass in hand.
"""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING

from broadcaster import logs
from broadcaster.cli_common import ConfigOpt, LogOpt

if TYPE_CHECKING:  # loaded by the command that runs, not by --help
    from broadcaster.config import Loaded, Secrets
    from broadcaster.ledger import Ledger

log = logging.getLogger("broadcaster.serve")


def serve_command(
    config: ConfigOpt = None,
    log_format: LogOpt = "text",
) -> None:
    """Serve sign-up, one-click unsubscribe, the banner files, /healthz and /metrics.

    Listens on serve.host:serve.port (default 127.0.0.1:8080); put it behind your web server.
    Needs the serve extra: pip install 'broadcaster[serve]'."""
    import asyncio

    from broadcaster.cli_common import load_config
    from broadcaster.runtime import open_ledger
    from broadcaster.serve import require_extra

    require_extra()
    loaded, secrets = load_config(config)
    logs.setup(secrets.all_values(), level="INFO", fmt=log_format)
    ledger = open_ledger(loaded, secrets)
    try:
        asyncio.run(_serve_until_stopped(loaded, secrets, ledger))
    finally:
        ledger.close()


async def _serve_until_stopped(loaded: Loaded, secrets: Secrets, ledger: Ledger) -> None:
    import asyncio

    from broadcaster.serve.server import start

    server = start(loaded, secrets, ledger)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    try:
        await server.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
