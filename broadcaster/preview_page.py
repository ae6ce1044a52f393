"""``broadcast preview NOTICE_ID --html FILE``: one page showing a notice on every channel.

For an admin to check before a run: one panel per configured channel (skipped ones say why),
each with every message the notice produces there (announcement, reminder...), rendered
exactly as the dispatcher will send it, its length counted as the platform counts it against
the platform's limit (over-long templates are highlighted: they will be shortened), the notice
card where the channel posts one, and what a non-text channel will do (Google's closed days,
the webhook's JSON document, the Apprise services).

Safety: the page is one self-contained file (styles inline, the card as a data: URI) under a
Content-Security-Policy that allows no script and no request at all. Text is escaped; HTML
parts (Telegram, email, banner) are shown rendered inside ``<iframe sandbox srcdoc>`` frames,
which cannot run script either -- so a hostile closure reason shows as text and does nothing.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from broadcaster.channels.apprise_channel import AppriseChannel
from broadcaster.channels.base import Channel, Outgoing, Target
from broadcaster.channels.google_business import GoogleBusinessChannel
from broadcaster.channels.webhook import WebhookChannel
from broadcaster.dispatch import Dispatcher, Preview
from broadcaster.ledger import Group
from broadcaster.notices import Notice, about_days
from broadcaster.plaintext import clause
from broadcaster.render import Message, day
from broadcaster.send import outgoing_for

TEMPLATE = "assets/preview.html"
FRAME_CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
UNITS = {
    "chars": "characters",
    "graphemes": "characters (graphemes)",
    "utf16": "UTF-16 units",
    "bytes": "bytes",
}


@dataclass
class Part:
    """One rendered part of one message (text, html, subject) and its length."""

    name: str
    text: str
    html: bool
    length: int | None = None  # as the platform counts, for the part its limit applies to
    limit: int | None = None
    unit: str = ""
    template_length: int | None = None  # before shortening, when the template was too long
    lang: str = "en"  # the message's language(s), so the browser picks the script's fonts

    @property
    def over(self) -> bool:
        return bool(self.limit and (self.template_length or self.length or 0) > self.limit)

    @property
    def document(self) -> str:
        """HTML for the sandboxed frame: a whole email as it is, a fragment as the platform
        shows it (Telegram keeps newlines); either way under the page's no-request policy,
        which a sandboxed frame does not reliably inherit."""
        if self.text.lstrip()[:14].lower().startswith(("<!doctype", "<html")):
            head = _HEAD.search(self.text)  # a whole document's own head comes first
            at = head.end() if head else 0
            return self.text[:at] + FRAME_CSP + self.text[at:]
        style = "body{font:15px/1.45 system-ui,sans-serif;white-space:pre-wrap;margin:.6em}"
        return (
            f'<!doctype html><html lang="{self.lang}"><meta charset="utf-8">{FRAME_CSP}'
            f"<style>{style}</style>{self.text}"
        )


@dataclass
class Panel:
    """One channel: each message it gets for the notice, or why it gets none."""

    channel: str
    skipped: str | None = None
    #: (occasion, language label, parts): the language label is empty for the default one
    messages: list[tuple[str, str, list[Part]]] = field(default_factory=list)
    extras: list[tuple[str, str]] = field(default_factory=list)  # (label, preformatted text)
    card: str | None = None  # data: URI of the notice card this channel posts
    card_alt: str = ""


async def write_preview(
    d: Dispatcher, notice: Notice, names: list[str] | None, path: Path, now: datetime
) -> list[Panel]:
    """Render the page for ``notice`` (only the ``names`` channels, if given) into ``path``."""
    for channel in d.channels:
        if isinstance(channel, Channel) and (not names or channel.name in names):
            await channel.prepare()  # limits some platforms announce (Mastodon's length)
    found = panels(d, notice, names)
    path.write_text(render_page(d, notice, found, now), encoding="utf-8")
    return found


def panels(d: Dispatcher, notice: Notice, names: list[str] | None = None) -> list[Panel]:
    """One panel per configured channel, in the dispatcher's order."""
    previews = d.preview(notice, names)
    result = []
    for channel in d.channels:
        if names and channel.name not in names:
            continue
        if not isinstance(channel, Channel):
            result.append(Panel(channel.name, skipped=channel.reason))
            continue
        panel = Panel(channel.name)
        for shown in previews:
            if shown.channel == channel.name:
                parts = _parts(d, channel, shown.told, shown.occasion, shown.message)
                panel.messages.append((shown.occasion, _language_label(shown.told), parts))
        if panel.messages:
            _extras(panel, channel, notice, panel.messages[0][0], previews)
        else:
            panel.skipped = f"takes no {notice.kind} messages"
        result.append(panel)
    return result


def render_page(d: Dispatcher, notice: Notice, found: list[Panel], now: datetime) -> str:
    source = resources.files("broadcaster").joinpath(TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(
        site=d.config.site,
        notice=notice,
        summary=_summary(notice),
        panels=found,
        generated=now.isoformat(timespec="minutes"),
    )


def _parts(
    d: Dispatcher, channel: Channel, notice: Notice, occasion: str, message: Message
) -> list[Part]:
    if isinstance(channel, GoogleBusinessChannel):
        return []  # Google shows the closed days, not a text (see the panel's special hours)
    limits = channel.limits
    parts = []
    lang = notice.language.replace("+", " ") or d.config.site.all_languages[0]
    for name, text in message.items():
        part = Part(name, text, html=name == "html", lang=lang.split()[0])
        if name == limits.part:
            part.length, part.limit = limits.measure(text), limits.max_length
            part.unit = UNITS.get(limits.unit, limits.unit)
            part.template_length = d.render.unfitted.get(Group(notice.id, occasion, channel.name))
        parts.append(part)
    return parts


def _extras(
    panel: Panel,
    channel: Channel,
    notice: Notice,
    occasion: str,
    previews: list[Preview],
) -> None:
    """What a channel does besides showing text, and its notice card."""
    message = next(
        p.message for p in previews if p.channel == channel.name and p.occasion == occasion
    )
    if isinstance(channel, GoogleBusinessChannel) and about_days(notice.facts()):
        lines = [
            f"{where}: {', '.join(_period(d, p) for d, p in days) or '(no day)'}"
            for where, days in channel.preview(notice.facts())
        ]
        panel.extras.append(("Special hours on Google (one period per day)", "\n".join(lines)))
    if isinstance(channel, WebhookChannel) and channel.targets():
        payload = channel.build(_outgoing(notice, channel, occasion, message, channel.targets()[0]))
        hosts = ", ".join(t.key.partition("#")[0] for t in channel.targets())
        panel.extras.append(
            (
                f"JSON document for {hosts} (sent_at and signature added when sent)",
                json.dumps(payload.document, ensure_ascii=False, indent=2),
            )
        )
    if isinstance(channel, AppriseChannel):
        services = "\n".join(t.fields.get("service", t.key) for t in channel.targets())
        panel.extras.append(("Apprise services (secrets masked)", services))
    _card(panel, channel, notice, occasion, message)


def _language_label(told: Notice) -> str:
    """``中文`` for a message in Chinese, ``English + 中文`` for a combined one; empty for the
    notice as configured (the default language)."""
    if not told.language:
        return ""
    from broadcaster.i18n import language_name

    return " + ".join(language_name(language) for language in told.language.split("+"))


def _period(when: date, period: dict[str, Any]) -> str:
    if period.get("closed"):
        return f"{day(when)} closed"
    opens, closes = period["openTime"], period["closeTime"]
    return (
        f"{day(when)} open {opens['hours']:02d}:{opens['minutes']:02d}"
        f"–{closes['hours']:02d}:{closes['minutes']:02d}"
    )


def _card(panel: Panel, channel: Channel, notice: Notice, occasion: str, message: Message) -> None:
    """The notice card, for a channel that posts one (Instagram, ``cards: true``)."""
    try:
        from broadcaster.channels.cards import Cards, render_card
    except ImportError:  # cards need Pillow and a font package
        return
    cards = getattr(channel, "cards", None)  # the channels that post cards hold a Cards
    if not isinstance(cards, Cards):
        return
    if notice.post_fields().image and channel.name != "instagram":
        return  # the article's own image is used instead
    card = cards.card(_outgoing(notice, channel, occasion, message, Target(channel.name)))
    data = base64.b64encode(render_card(card.text)).decode()
    panel.card, panel.card_alt = f"data:image/jpeg;base64,{data}", card.alt


def _outgoing(
    notice: Notice, channel: Channel, occasion: str, message: Message, target: Target
) -> Outgoing:
    """The delivery the dispatcher would hand ``channel`` (for pure ``build`` previews)."""
    return outgoing_for(notice, Group(notice.id, occasion, channel.name), message, target)


def _summary(notice: Notice) -> dict[str, Any]:
    facts = notice.facts()
    if about_days(facts):
        where = "all outlets" if facts["all_outlets"] else ", ".join(facts["outlets"])
        start, end = date.fromisoformat(facts["start"]), date.fromisoformat(facts["end"])
        hours = facts["hours"]
        what = f"Open {hours['opens']}–{hours['closes']}" if hours else "Closed"
        resume = date.fromisoformat(facts["resume"])
        again = "Usual hours again" if hours else "Open again"
        return {
            "what": f"{what} {day(start)} to {day(end)}, {where}",
            "detail": f"Reason: {clause(facts['reason'])}. {again} {day(resume)}.",
        }
    fields = notice.post_fields()
    return {"what": fields.title or notice.id, "detail": fields.link or notice.kind}
