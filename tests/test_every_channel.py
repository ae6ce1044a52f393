"""Issue 6's promise, all at once: with every channel configured against its local fake, one
`broadcast run` delivers the closure and the article once everywhere, a rerun delivers
nothing, and Google shows 26 and 27 Mar closed while keeping the clinic's own entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster.cli import app
from tests.channels.test_google_business import (  # noqa: F401 - fixtures, shared
    CHRISTMAS_EVE,
    ORCHARD,
    TAMPINES,
    Gbp,
    configured,
    gbp,
)
from tests.channels.test_more_social_end_to_end import More, more  # noqa: F401
from tests.channels.test_social_end_to_end import fakes  # noqa: F401
from tests.channels.test_webhook import SECRET, Hook, hook  # noqa: F401
from tests.fakes.support import Fakes

NOW = "2024-03-20T09:00:00+08:00"


def test_one_run_reaches_every_channel_once(
    fakes: Fakes,  # noqa: F811
    more: More,  # noqa: F811
    configured: Path,  # noqa: F811
    gbp: Gbp,  # noqa: F811
    hook: Hook,  # noqa: F811
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = configured.read_text(encoding="utf-8")
    configured.write_text(
        text.replace("channels:\n", f'channels:\n  webhook:\n    urls: ["{hook.url}/kiosk"]\n', 1),
        encoding="utf-8",
    )
    monkeypatch.setenv("BROADCAST_WEBHOOK_SECRET", SECRET)
    for attempt in range(2):
        result = CliRunner().invoke(app, ["run", "--now", NOW])
        assert result.exit_code == 0, result.output
        assert fakes.counts() == (2, 2, 2)  # Telegram, Mastodon, Bluesky
        assert more.counts() == (2, 2, 2, 2)  # Facebook, Instagram, X, LinkedIn
        assert len(hook.fake.deliveries) == 2  # the closure and the article
        assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27"]
        assert "2024-03-26" in gbp.fake.closed_days(ORCHARD)
        assert CHRISTMAS_EVE in gbp.fake.special_hours[ORCHARD]
        emails = list((project / "var/outbox/new").iterdir())
        subscribers = len((project / "config/subscribers.csv").read_text().splitlines()) - 1
        assert len(emails) == 2 * subscribers
        assert (project / "site/notices/banner.json").is_file()
        if attempt == 1:
            assert " sent " not in result.output.replace("already sent", "")
