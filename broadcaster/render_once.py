"""Each message rendered once per notice version, occasion and channel, fitted to the
channel's limit and stored: what is stored is what every attempt sends (``preview``, ``plan``,
``validate`` and ``run`` all go through :class:`RenderOnce`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from broadcaster.channels.base import Message
from broadcaster.render import COMBINED, Renderer, joined

if TYPE_CHECKING:
    from broadcaster.channels.base import Channel, Limits
    from broadcaster.ledger import Group
    from broadcaster.notices import Notice
    from broadcaster.schedule import Job


class RenderStore(Protocol):
    """Where rendered messages are kept (the ledger's ``renders``): the first one stored for
    a notice version, occasion and channel is the one every attempt sends."""

    def stored_render(
        self, group: Group, fingerprint: str, body: dict[str, str] | None
    ) -> tuple[int, dict[str, str]] | None: ...


class NothingToPost(ValueError):
    """Shortened to fit, nothing is left: the message was a link longer than the platform
    allows even alone. Never sent as a broken link; the delivery fails with this reason."""


class RenderOnce:
    """Each message rendered once per notice version, occasion and channel, shortened to the
    channel's limit and stored: what is stored is what is sent, on retries too. ``preview``,
    ``plan``, ``validate`` and ``run`` all go through :meth:`message`."""

    def __init__(self, renderer: Renderer, store: RenderStore) -> None:
        self.renderer = renderer
        self.store = store
        #: render group -> the length its template produced before shortening, so plan and
        #: validate report (and warn about) the template's own length
        self.unfitted: dict[Group, int] = {}
        #: render group -> links left out because even alone they were over the limit
        self.dropped: dict[Group, tuple[str, ...]] = {}

    def message(
        self, channel: Channel, notice: Notice, job: Job, *, store: bool
    ) -> tuple[int | None, Message]:
        """The message, and its stored render's id (None when not stored); raises a jinja2
        or TemplateMissing error for a broken template, NothingToPost for an empty post."""
        from broadcaster.ledger import Group

        group = Group(notice.id, job.occasion, channel.name)
        stored = self.store.stored_render(group, notice.fingerprint(), None)
        if stored:
            return stored
        each = self.renderer.render_each(
            notice, job.occasion, channel.name, channel.parts, job.extra
        )
        message = self._fit_each(group, channel, each)
        self._fit(group, channel.limits, message)
        if not store:
            return None, message
        result = self.store.stored_render(group, notice.fingerprint(), message)
        assert result is not None  # stored just now, or by a process that raced this one
        return result

    def _fit(self, group: Group, limits: Limits, message: Message) -> None:
        from broadcaster.length import shorten

        text = message.get(limits.part)
        if text is None:
            return
        fitted = shorten(text, limits)
        if fitted.text != text:
            self.unfitted.setdefault(group, limits.measure(text))
        if fitted.dropped:
            self.dropped[group] = fitted.dropped
            if not fitted.text.strip():
                raise NothingToPost(
                    f"nothing left to post: the link {fitted.dropped[0]} alone is over "
                    f"{channel_limit(limits)}; shorten it (or its template) so it fits"
                )
        message[limits.part] = fitted.text

    def _fit_each(self, group: Group, channel: Channel, each: list[Message]) -> Message:
        """A combined post over the limit: each language shortened to its share of it, so
        that no language is cut off for another's sake."""
        from broadcaster.length import shorten

        message = joined(each, channel.parts)
        limits = channel.limits
        text = message.get(limits.part)
        if len(each) == 1 or text is None or limits.fits(text):
            return message
        self.unfitted[group] = limits.measure(text)
        share = share_of(limits, len(each), len(COMBINED.get(limits.part, "\n\n")))
        for one in each:
            fitted = shorten(one[limits.part], share)
            one[limits.part] = fitted.text
            if fitted.dropped:
                self.dropped[group] = self.dropped.get(group, ()) + fitted.dropped
        return joined(each, channel.parts)

    def measure(
        self, channel: Channel, message: Message, group: Group
    ) -> tuple[int | None, int | None]:
        """The length as the platform counts it (the template's own when it was shortened)
        and the platform's limit."""
        text = message.get(channel.limits.part)
        if text is None:
            return None, channel.limits.max_length
        length = self.unfitted.get(group, channel.limits.measure(text))
        return length, channel.limits.max_length


def share_of(limits: Limits, count: int, separator: int) -> Limits:
    """The limits each of ``count`` messages joined by a ``separator`` must keep to."""
    from dataclasses import replace

    def each(total: int | None) -> int | None:
        return None if total is None else max(1, (total - separator * (count - 1)) // count)

    return replace(limits, max_length=each(limits.max_length), max_bytes=each(limits.max_bytes))


def channel_limit(limits: Limits) -> str:
    return f"the limit of {limits.max_length}" if limits.max_length else "the limit"
