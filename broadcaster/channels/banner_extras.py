"""Closures as machine-readable opening hours: schema.org JSON-LD and an iCalendar feed.

The banner tells people; these tell machines. ``closures.jsonld`` carries schema.org
``specialOpeningHoursSpecification`` for each outlet (a closed day is ``opens``/``closes``
``00:00``, one entry per closure from ``validFrom`` to ``validThrough``, both inclusive), for
a site to merge into its ``LocalBusiness`` markup so search engines show the closure.
``closures.ics`` is a calendar staff and customers can subscribe to: one all-day event per
closure, whose UID is derived from the notice id so a calendar app updates the event in place
when a date is corrected instead of showing it twice.

Both are built from the banner's entries -- the closures from their announcement until the
clinic reopens -- so they appear, change and expire with the banner. Pure functions: the
banner channel writes what they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster.notices.base import about_days, slug
from broadcaster.plaintext import clause

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//broadcaster//closures//EN"


@dataclass(frozen=True)
class Business:
    """Who is closed: the site's name and address, and its outlets (none: one location)."""

    name: str = ""
    url: str = ""
    outlets: tuple[str, ...] = ()


def closures(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The banner entries about opening days (closures, hours changes), by first day."""
    found = [e for e in entries if about_days(e.get("facts"))]
    return sorted(found, key=lambda e: (e["facts"]["start"], e["id"]))


def opening_hours(entries: Sequence[dict[str, Any]], business: Business) -> dict[str, Any]:
    """A JSON-LD document: one ``LocalBusiness`` per outlet with its special days."""
    closed = closures(entries)
    places: list[tuple[str | None, str, str]] = [
        (o, f" {o}", f"#outlet-{slug(o)}") for o in business.outlets
    ] or [(None, "", "#business")]
    graph = []
    for outlet, suffix, anchor in places:
        node: dict[str, Any] = {"@type": "LocalBusiness"}
        if business.url:
            node["@id"] = f"{business.url}/{anchor}"
            node["url"] = business.url
        if business.name:
            node["name"] = business.name + suffix
        node["specialOpeningHoursSpecification"] = [
            _special(e["facts"])
            for e in closed
            if outlet is None or outlet in e["facts"]["outlets"]
        ]
        graph.append(node)
    return {"@context": "https://schema.org", "@graph": graph}


def _special(closure: dict[str, Any]) -> dict[str, Any]:
    """Closed all day is ``00:00``–``00:00`` (the convention Google and OpenActive use)."""
    hours = closure["hours"] or {"opens": "00:00", "closes": "00:00"}
    return {
        "@type": "OpeningHoursSpecification",
        "opens": hours["opens"],
        "closes": hours["closes"],
        "validFrom": closure["start"],
        "validThrough": closure["end"],
        "description": closure["reason"],
    }


def calendar(entries: Sequence[dict[str, Any]], business: Business) -> bytes:
    """An iCalendar file with one all-day event per closure (the end date is exclusive)."""
    from icalendar import Calendar  # imported when used: it adds ~0.4 s to every command

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{business.name} closures" if business.name else "Closures")
    host = urlsplit(business.url).hostname or "broadcaster.invalid"
    for entry in closures(entries):
        cal.add_component(_event(entry, business, host))
    return bytes(cal.to_ical())


def _event(entry: dict[str, Any], business: Business, host: str) -> Event:
    from icalendar import Event

    closure = entry["facts"]
    hours = closure["hours"]
    event = Event()
    event.add("uid", f"{entry['id']}@{host}")
    # Stable across passes (the file is rewritten only when something changed): the instant
    # the closure was first announced, which moves when its dates are corrected.
    event.add("dtstamp", datetime.fromisoformat(entry["start"]).astimezone(UTC))
    event.add("dtstart", date.fromisoformat(closure["start"]))
    event.add("dtend", date.fromisoformat(closure["end"]) + timedelta(days=1))
    state = f"Open {hours['opens']}–{hours['closes']}" if hours else "Closed"
    event.add("summary", f"{state}: {clause(closure['reason'])}")
    event.add("location", ", ".join(closure["outlets"]) or business.name)
    event.add("description", entry["text"])
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED")
    if business.url:
        event.add("url", business.url)
    return event
