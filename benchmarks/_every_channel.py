"""What the benchmarks that drive every channel at once share (crash_trials.py, fault_storm.py).

The local fakes the tests use, all on 127.0.0.1 and run in this process (:class:`Servers`):
Telegram, Mastodon, Bluesky, the Graph API (Facebook and Instagram, with a local website
serving the notice cards), X, LinkedIn, Google Business Profile, two signed webhook URLs,
Apprise (``json://`` to a plain receiver), the website banner (a temp folder), and email over
SMTP to an aiosmtpd sink. :func:`write_project` writes a config enabling every channel toward
them (one closure and three articles, N subscribers); :func:`start` runs ``broadcast run``
against it as a subprocess; :func:`what_arrived` counts what each server holds per expected
delivery and :func:`judge` sets that against the ledger's ``state`` column.

Not a script: ``benchmarks/`` is on ``sys.path`` when a benchmark runs, so they ``import
_every_channel``. Importing it puts the project root on ``sys.path`` (the fakes live in
``tests/``, which is not installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the fakes live in tests/, which is not installed
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from starlette.requests import ClientDisconnect  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from broadcaster.channels.webhook import target_key  # noqa: E402
from broadcaster.ledger import make_engine  # noqa: E402
from broadcaster.ledger.schema import deliveries  # noqa: E402
from tests.channels.conftest import SinkHandler, SmtpSink  # noqa: E402
from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.fakes.google_business import (  # noqa: E402
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    FakeGoogleBusiness,
)
from tests.fakes.graph import FakeGraph, static_site  # noqa: E402
from tests.fakes.linkedin import FakeLinkedIn  # noqa: E402
from tests.fakes.mastodon import FakeMastodon  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.fakes.webhook_receiver import SECRET as WEBHOOK_SECRET  # noqa: E402
from tests.fakes.webhook_receiver import WebhookReceiver  # noqa: E402
from tests.fakes.x import FakeX  # noqa: E402

NOW = "2024-03-20T09:00:00+08:00"
UNSUBSCRIBE_SECRET = "crash-trial-unsubscribe-secret-0123456789"
SITE = "https://www.glow-aesthetics.example"
CLOSURE_ID = "closure-2024-03-26"
CLOSURE_MARKS = ("26 Mar", CLOSURE_ID)  # in every closure message, in no article's
#: (slug, title, summary); the slug is in every message about the article (its link)
ARTICLES = (
    ("crash-trial-sunscreen", "Sunscreen, Every Day: What Dermatologists Say", "SPF all year."),
    ("crash-trial-hydration", "Hydration and Your Skin Barrier", "Water, lipids and sleep."),
    ("crash-trial-peels", "Chemical Peels Explained", "Which peel for which skin."),
)
ARTICLE_IDS = {f"article-{slug}": slug for slug, _t, _s in ARTICLES}
NOTICES = (CLOSURE_ID, *ARTICLE_IDS)
ORCHARD, TAMPINES = "1111111111", "2222222222"
CLOSED_DAYS = ("2024-03-26", "2024-03-27")
WEBHOOK_PATHS = ("/kiosk", "/crm")
#: channels in report order; "publishers" show state (one ledger row per closure, target site)
MESSAGING = (
    "email",
    "telegram",
    "mastodon",
    "bluesky",
    "facebook",
    "instagram",
    "x",
    "linkedin",
    "webhook",
    "apprise",
)
PUBLISHERS = ("banner", "google_business")
CHANNELS = (*MESSAGING, *PUBLISHERS)
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)

CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "{site}"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
articles:
  max_age_days: 3
  items:
{articles}
channels:
  banner:
    output_dir: "{banner}"
    public_url: "{website}"
  email:
    transport: smtp
    host: "127.0.0.1"
    port: {smtp_port}
    security: none
    from: "Glow Aesthetics <hello@glow-aesthetics.example>"
    reply_to: "hello@glow-aesthetics.example"
    subscribers: "{subscribers}"
    unsubscribe_url: "{site}/unsubscribe?token={{token}}"
    connections: {connections}
    timeout: 10
  telegram:
    chat_id: "@glowaesthetics"
    api_url: "{telegram}"
  mastodon:
    instance: "{mastodon}"
  bluesky:
    service: "{bluesky}"
    handle: "{bluesky_handle}"
    link_thumbnails: false
  facebook:
    page_id: "{page_id}"
    api_url: "{graph}"
  instagram:
    user_id: "{ig_user_id}"
    api_url: "{graph}"
    poll_seconds: 0.01
    poll_attempts: 5
  x:
    api_url: "{x}"
  linkedin:
    organization: "5515715"
    version: "202510"
    api_url: "{linkedin}"
  google_business:
    api_url: "{google}"
    token_url: "{google}/token"
    locations:
      Orchard: "locations/{orchard}"
      Tampines: "locations/{tampines}"
  webhook:
    urls: [{webhook_urls}]
  apprise:
    urls: ["{apprise_url}"]
database: "{database}"
templates: "{templates}"
"""


# -- the fakes ---------------------------------------------------------------------------------


class CutOff(logging.Filter):
    """Counts, and keeps off the screen, the tracebacks of requests a killed client left
    half-sent (starlette's ClientDisconnect while a fake reads the body)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ClientDisconnect):
            self.count += 1
            return False
        return True


CUT_OFF = CutOff()
logging.getLogger("uvicorn.error").addFilter(CUT_OFF)


class Servers:
    """Every fake on 127.0.0.1 (uvicorn threads) plus the SMTP sink, in this process.

    ``wrap`` (name, app) -> app may put each ASGI app behind an observer before it is served
    (names as in ``url``); ``sink_handler`` replaces the SMTP sink's plain SinkHandler.
    """

    def __init__(
        self,
        banner_dir: Path,
        *,
        wrap: Callable[[str, ASGIApp], ASGIApp] | None = None,
        sink_handler: SinkHandler | None = None,
    ) -> None:
        self.banner_dir = banner_dir
        self.wrap = wrap
        self.tg = FakeTelegram()
        self.masto = FakeMastodon()
        self.bsky = FakeBluesky()
        self.graph = FakeGraph()
        self.x = FakeX()
        self.linkedin = FakeLinkedIn()
        self.google = FakeGoogleBusiness({ORCHARD: [], TAMPINES: []})
        self.hook = WebhookReceiver()
        self.plain = WebhookReceiver(require_signature=False)  # Apprise's json:// lands here
        self.sink = SmtpSink(sink_handler or SinkHandler())
        self.url: dict[str, str] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Servers:
        self.banner_dir.mkdir(parents=True, exist_ok=True)
        apps = {
            "telegram": self.tg.app,
            "mastodon": self.masto.app,
            "bluesky": self.bsky.app,
            "graph": self.graph.app,
            "x": self.x.app,
            "linkedin": self.linkedin.app,
            "google": self.google.app,
            "webhook": self.hook.app,
            "plain": self.plain.app,
            "website": static_site(self.banner_dir),
        }
        try:
            for name, app in apps.items():
                served = self.wrap(name, app) if self.wrap else app
                self.url[name] = self._stack.enter_context(serve(served))
            self._stack.enter_context(self.sink)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def secrets(self) -> dict[str, str]:
        x = self.x
        return {
            "BROADCAST_TELEGRAM_TOKEN": self.tg.token,
            "BROADCAST_MASTODON_TOKEN": self.masto.token,
            "BROADCAST_BLUESKY_APP_PASSWORD": self.bsky.password,
            "BROADCAST_FACEBOOK_TOKEN": self.graph.page_token,
            "BROADCAST_INSTAGRAM_TOKEN": self.graph.ig_token,
            "BROADCAST_X_CONSUMER_KEY": x.consumer_key,
            "BROADCAST_X_CONSUMER_SECRET": x.consumer_secret,
            "BROADCAST_X_ACCESS_TOKEN": x.access_token,
            "BROADCAST_X_ACCESS_TOKEN_SECRET": x.access_token_secret,
            "BROADCAST_LINKEDIN_TOKEN": self.linkedin.token,
            "BROADCAST_GOOGLE_CLIENT_ID": CLIENT_ID,
            "BROADCAST_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "BROADCAST_GOOGLE_REFRESH_TOKEN": REFRESH_TOKEN,
            "BROADCAST_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
        }

    def webhook_urls(self) -> list[str]:
        return [f"{self.url['webhook']}{path}" for path in WEBHOOK_PATHS]

    def apprise_url(self) -> str:
        return f"json://{self.url['plain'].removeprefix('http://')}/apprise"

    def webhook_keys(self) -> dict[str, str]:
        """Path on the receiver (``/kiosk``) -> the ledger's target key of that URL."""
        return {u.removeprefix(self.url["webhook"]): target_key(u) for u in self.webhook_urls()}

    def delivered(self) -> int:
        """Messages the servers hold so far (cheap: polled while a run goes)."""
        return (
            self.sink.handler.count()
            + len(self.tg.sent)
            + len(self.masto.statuses)
            + len(self.bsky.posts)
            + len(self.graph.posts)
            + len(self.graph.media)
            + len(self.x.tweets)
            + len(self.linkedin.posts)
            + len(self.hook.deliveries)
            + len(self.plain.deliveries)
            + len(self.google.patches)
        )


# -- the project -------------------------------------------------------------------------------


def write_project(
    folder: Path, servers: Servers, subscribers: list[str], database: str, connections: int = 4
) -> tuple[Path, Path]:
    """The config (every channel toward ``servers``, ``connections`` to the SMTP sink) and the
    subscriber CSV; returns (config, banner folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "subscribers.csv"
    csv.write_text(
        "email,name\n" + "".join(f"{a},Subscriber {n}\n" for n, a in enumerate(subscribers)),
        encoding="utf-8",
    )
    items = []
    for n, (slug, title, summary) in enumerate(ARTICLES):
        items.append(
            f'    - title: "{title}"\n'
            f'      url: "{SITE}/blog/{slug}/"\n'
            f"      published: 2024-03-{19 + n // 2:02d}T0{7 + n % 2}:00:00+08:00\n"
            f'      summary: "{summary}"\n'
            + (f'      image: "{SITE}/images/{slug}.jpg"\n' if n == 0 else "")
        )
    text = CONFIG.format(
        site=SITE,
        articles="".join(items).rstrip("\n"),
        banner=servers.banner_dir,
        website=servers.url["website"],
        smtp_port=servers.sink.port,
        connections=connections,
        subscribers=csv,
        telegram=servers.url["telegram"],
        mastodon=servers.url["mastodon"],
        bluesky=servers.url["bluesky"],
        bluesky_handle=servers.bsky.handle,
        page_id=servers.graph.page_id,
        ig_user_id=servers.graph.ig_user_id,
        graph=servers.url["graph"],
        x=servers.url["x"],
        linkedin=servers.url["linkedin"],
        google=servers.url["google"],
        orchard=ORCHARD,
        tampines=TAMPINES,
        webhook_urls=", ".join(f'"{u}"' for u in servers.webhook_urls()),
        apprise_url=servers.apprise_url(),
        database=database,
        templates=ROOT / "templates",
    )
    config = folder / "broadcaster.yaml"
    config.write_text(text, encoding="utf-8")
    return config, servers.banner_dir


@dataclass
class Ledgers:
    """Where the ledgers live: a SQLite file per copy, or a fresh PostgreSQL schema each."""

    postgres: str | None
    schemas: list[str] = field(default_factory=list)

    def new(self, folder: Path) -> str:
        if self.postgres is None:
            return f"sqlite:///{folder / 'ledger.db'}"
        schema = f"crash_{uuid.uuid4().hex[:10]}"
        engine = make_engine(self.postgres)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        finally:
            engine.dispose()
        self.schemas.append(schema)
        sep = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{sep}options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        if self.postgres is None or not self.schemas:
            return
        engine = make_engine(self.postgres)
        try:
            with engine.begin() as conn:
                for schema in self.schemas:
                    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        finally:
            engine.dispose()


# -- running broadcast -------------------------------------------------------------------------


def broadcast_command(config: Path, command: str = "run", now: str = NOW) -> list[str]:
    script = Path(sys.executable).parent / "broadcast"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "broadcaster"]
    return [*head, command, "--config", str(config), "--now", now]


def run_env(servers: Servers, wait_scale: str = "0") -> dict[str, str]:
    """The environment of a ``broadcast`` subprocess: the fakes' secrets, and
    ``BROADCAST_RETRY_WAIT_SCALE`` (retry.py; "0": no in-pass back-off sleeps)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    env.update(servers.secrets())
    env["BROADCAST_RETRY_WAIT_SCALE"] = wait_scale
    env["COLUMNS"] = "200"
    return env


def start(
    config: Path, servers: Servers, log: Path, now: str = NOW, wait_scale: str = "0"
) -> subprocess.Popen[bytes]:
    """``broadcast run --now NOW`` in the config's folder, its output into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            broadcast_command(config, now=now),
            cwd=config.parent,
            env=run_env(servers, wait_scale),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def ledger_state_counts(url: str) -> Counter[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.state, sa.func.count()).group_by(deliveries.c.state)
            )
            return Counter({str(state): int(count) for state, count in rows})
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no table yet: killed early
        return Counter()
    finally:
        engine.dispose()


# -- what the servers received -----------------------------------------------------------------


def which_notice(blob: str) -> str | None:
    """The notice a message is about: its article's slug (in the link), else the closure."""
    found = [notice for notice, slug in ARTICLE_IDS.items() if slug in blob]
    if len(found) == 1:
        return found[0]
    if not found and any(mark in blob for mark in CLOSURE_MARKS):
        return CLOSURE_ID
    return None


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


Key = tuple[str, str, str]  # (channel, notice, target); target "" for one-target channels


@dataclass
class Received:
    counts: Counter[Key] = field(default_factory=Counter)
    unmatched: Counter[str] = field(default_factory=Counter)  # per channel
    requests: dict[str, int] = field(default_factory=dict)  # create requests per channel

    def add(self, channel: str, notice: str | None, target: str = "") -> None:
        if notice is None:
            self.unmatched[channel] += 1
        else:
            self.counts[(channel, notice, target)] += 1


def email_ids(subscribers: list[str]) -> dict[str, tuple[str, str]]:
    """Message-ID -> (notice, subscriber) for every message the run should send: the
    Message-ID is a digest of the delivery key (channels/email/message.py)."""
    result = {}
    for notice in NOTICES:
        occasion = "announce" if notice == CLOSURE_ID else "publish"
        for address in subscribers:
            key = f"{notice}/{occasion}/email/{address}/0"
            digest = hashlib.sha256(key.encode()).hexdigest()[:32]
            result[f"<{digest}@glow-aesthetics.example>"] = (notice, address)
    return result


def requests_to(log: list[dict[str, Any]], method: str, *suffixes: str) -> int:
    return sum(
        1 for r in log if r["http_method"] == method and str(r["path"]).endswith(tuple(suffixes))
    )


def what_arrived(
    servers: Servers, subscribers: list[str], webhook_keys: dict[str, str]
) -> Received:
    got = Received()
    ids = email_ids(subscribers)
    for message in list(servers.sink.handler.received):
        match = MESSAGE_ID.search(message.data.split(b"\r\n\r\n", 1)[0])
        found = ids.get(match.group(1).decode()) if match else None
        if found is None or found[1] not in message.rcpt_tos:
            got.add("email", None)
        else:
            got.add("email", found[0], found[1])
    got.requests["email"] = servers.sink.handler.count()
    for sent in servers.tg.sent:
        if not str(sent["method"]).startswith("edit"):
            got.add("telegram", which_notice(dumps([sent.get("text"), sent.get("caption")])))
    got.requests["telegram"] = requests_to(
        servers.tg.requests, "POST", "/sendMessage", "/sendPhoto"
    )
    for status in servers.masto.statuses:
        got.add("mastodon", which_notice(dumps(status["params"].get("status"))))
    got.requests["mastodon"] = requests_to(servers.masto.requests, "POST", "/api/v1/statuses")
    for post in servers.bsky.posts:
        got.add("bluesky", which_notice(dumps(post["record"])))
    got.requests["bluesky"] = requests_to(servers.bsky.requests, "POST", "createRecord")
    for fb in servers.graph.posts:
        got.add("facebook", which_notice(dumps([fb["message"], fb["link"]])))
    got.requests["facebook"] = requests_to(servers.graph.requests, "POST", "/feed")
    for media in servers.graph.media:
        got.add("instagram", which_notice(dumps(media["container"].get("caption"))))
    got.requests["instagram"] = requests_to(servers.graph.requests, "POST", "/media_publish")
    for tweet in servers.x.tweets:
        got.add("x", which_notice(dumps(tweet["text"])))
    got.requests["x"] = requests_to(servers.x.requests, "POST", "/2/tweets")
    for li in servers.linkedin.posts:
        got.add("linkedin", which_notice(dumps([li["visible"], li["body"]])))
    got.requests["linkedin"] = requests_to(servers.linkedin.requests, "POST", "/posts")
    for hook in servers.hook.deliveries:
        if not hook.duplicate:  # a repeated Idempotency-Key is acknowledged, not stored
            notice = hook.document.get("id")
            got.add("webhook", notice if notice in NOTICES else None, webhook_keys[hook.path])
    got.requests["webhook"] = len(servers.hook.requests)
    for note in servers.plain.deliveries:
        got.add("apprise", which_notice(dumps(note.document)))
    got.requests["apprise"] = len(servers.plain.requests)
    banner = servers.banner_dir / "banner.json"
    shown = json.loads(banner.read_text(encoding="utf-8"))["notices"] if banner.exists() else []
    for entry in shown:
        got.add("banner", entry.get("id") if entry.get("id") in NOTICES else None)
    got.requests["banner"] = 0
    # Google: the closure is there once if each outlet has each closed day exactly once
    days = [
        Counter(servers.google.closed_days(location))[day]
        for location in (ORCHARD, TAMPINES)
        for day in CLOSED_DAYS
    ]
    shown_times = max(days) if max(days) > 1 else min(days)  # a day twice is a duplicate
    if shown_times:
        got.counts[("google_business", CLOSURE_ID, "")] = shown_times
    got.requests["google_business"] = requests_to(servers.google.requests, "PATCH", "")
    return got


# -- the verdict -------------------------------------------------------------------------------


@dataclass
class Expected:
    channel: str
    notice: str
    occasion: str
    target: str  # "" for one-target channels (matched on notice and occasion)


def expected(subscribers: list[str], webhook_keys: dict[str, str]) -> list[Expected]:
    result: list[Expected] = []
    for notice in NOTICES:
        occasion = "announce" if notice == CLOSURE_ID else "publish"
        for address in subscribers:
            result.append(Expected("email", notice, occasion, address))
        for channel in MESSAGING[1:]:
            if channel == "webhook":
                result += [Expected(channel, notice, occasion, k) for k in webhook_keys.values()]
            else:
                result.append(Expected(channel, notice, occasion, ""))
    result += [Expected(channel, CLOSURE_ID, "banner", "") for channel in PUBLISHERS]
    return result


@dataclass
class Tally:
    targets: int = 0
    once: int = 0
    duplicates: int = 0
    lost: int = 0
    unknown: int = 0
    unknown_arrived: int = 0
    sent_not_arrived: int = 0  # part of lost: the ledger says sent, the server has nothing
    arrived_unsettled: int = 0  # arrived, but the ledger says neither sent nor unknown
    states: Counter[str] = field(default_factory=Counter)


def judge(
    database: str, subscribers: list[str], got: Received, webhook_keys: dict[str, str]
) -> tuple[dict[str, Tally], list[str]]:
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(
                        deliveries.c.channel,
                        deliveries.c.notice_id,
                        deliveries.c.occasion,
                        deliveries.c.target,
                        deliveries.c.seq,
                        deliveries.c.state,
                    )
                )
            )
    finally:
        engine.dispose()
    exact: dict[tuple[str, str, str, str], str] = {}
    loose: dict[tuple[str, str, str], list[str]] = {}
    tallies = {channel: Tally() for channel in CHANNELS}
    notes: list[str] = []
    for channel, notice, occasion, target, seq, state in rows:
        tallies.setdefault(channel, Tally()).states[state] += 1
        if seq == 0:
            exact[(channel, notice, occasion, target)] = state
            loose.setdefault((channel, notice, occasion), []).append(state)
    wanted = expected(subscribers, webhook_keys)
    for want in wanted:
        tally = tallies[want.channel]
        tally.targets += 1
        if want.target:
            state = exact.get((want.channel, want.notice, want.occasion, want.target), "absent")
        else:
            found = loose.get((want.channel, want.notice, want.occasion), [])
            state = found[0] if len(found) == 1 else ("absent" if not found else "several")
        n = got.counts[(want.channel, want.notice, want.target)]
        where = f"{want.channel} {want.notice}/{want.occasion} {want.target or ''}".rstrip()
        if n == 1:
            tally.once += 1
        elif n > 1:
            tally.duplicates += 1
            notes.append(f"DUPLICATE: {where} received {n} times (ledger: {state})")
        elif state not in ("unknown", "failed"):
            tally.lost += 1
            notes.append(f"LOST: {where} never received (ledger: {state})")
            if state == "sent":
                tally.sent_not_arrived += 1
        if state == "unknown":
            tally.unknown += 1
            tally.unknown_arrived += n >= 1
        elif n >= 1 and state != "sent":
            tally.arrived_unsettled += 1
            notes.append(f"received but the ledger says {state}: {where}")
    keys = {(w.channel, w.notice, w.target) for w in wanted}
    for key, n in got.counts.items():
        if key not in keys:
            got.unmatched[key[0]] += n
    for channel, n in got.unmatched.items():
        if n:
            notes.append(f"{channel}: {n} received messages match no expected delivery")
    return tallies, notes
