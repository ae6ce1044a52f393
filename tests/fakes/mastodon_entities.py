"""JSON entities of the fake Mastodon (Instance, Account, Status), shaped like the real API.

Kept apart from the behaviour in mastodon.py: these only decide what the documents look like.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def iso(moment: float, timespec: str = "milliseconds") -> str:
    """UTC ISO-8601 with a Z, as Rails renders it (Reset headers use microseconds)."""
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec=timespec)
    return stamp.replace("+00:00", "Z")


def render(text: str) -> str:
    """Plain text to Mastodon's HTML: paragraphs on blank lines, <br /> for newlines, escaped.

    The real server also turns URLs, mentions and hashtags into links; this fake does not.
    """
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br />')}</p>" for p in paragraphs)


@dataclass
class Site:
    """The instance and the one account the fake serves."""

    domain: str
    username: str
    account_id: str

    def account(self, statuses_count: int) -> dict[str, Any]:
        """The Account entity of the token's user."""
        base = f"https://{self.domain}"
        return {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": "Glow Aesthetics",
            "locked": False,
            "bot": False,
            "created_at": "2022-11-10T00:00:00.000Z",
            "note": "",
            "url": f"{base}/@{self.username}",
            "avatar": f"{base}/avatars/original/missing.png",
            "header": f"{base}/headers/original/missing.png",
            "followers_count": 42,
            "following_count": 7,
            "statuses_count": statuses_count,
            "emojis": [],
            "fields": [],
        }

    def instance(self, max_characters: int, reserved_per_url: int) -> dict[str, Any]:
        """An Instance (v2) document; clients read configuration.statuses from it."""
        media: dict[str, Any] = {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"]
        }
        media |= {"image_size_limit": 16777216, "image_matrix_limit": 33177600}
        media |= {"description_limit": 1500}
        statuses: dict[str, Any] = {"max_characters": max_characters, "max_media_attachments": 4}
        statuses["characters_reserved_per_url"] = reserved_per_url
        return {
            "domain": self.domain,
            "title": "Mastodon Example",
            "version": "4.3.2",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A fake instance for tests.",
            "usage": {"users": {"active_month": 1234}},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"wss://{self.domain}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": statuses,
                "media_attachments": media,
                "polls": {"max_options": 4, "max_characters_per_option": 50},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": True, "message": None},
            "contact": {"email": f"admin@{self.domain}", "account": None},
            "rules": [],
        }

    def status(
        self, status_id: str, now: float, params: dict[str, Any], account: dict[str, Any]
    ) -> dict[str, Any]:
        """A Status as returned by POST /api/v1/statuses: card is null (crawled later)."""
        spoiler = str(params.get("spoiler_text") or "")
        return {
            "id": status_id,
            "created_at": iso(now),
            "in_reply_to_id": None,
            "sensitive": bool(spoiler) or str(params.get("sensitive", "")).lower() == "true",
            "spoiler_text": spoiler,
            "visibility": params.get("visibility") or "public",
            "language": params.get("language") or None,
            "uri": f"https://{self.domain}/users/{self.username}/statuses/{status_id}",
            "url": f"https://{self.domain}/@{self.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": render(str(params.get("status") or "")),
            "reblog": None,
            "application": {"name": "broadcaster", "website": None},
            "account": account,
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
