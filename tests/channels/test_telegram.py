"""The Telegram channel against FakeTelegram: exact requests, Telegram's errors, its limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broadcaster.channels.telegram import CAPTION_LIMITS, TEXT_LIMITS, ApiCall, TelegramChannel
from broadcaster.errors import AlreadyDelivered, NoReply, PermanentError, RetryableError
from broadcaster.length import fit
from tests.fakes.conftest import Running, running
from tests.fakes.support import ARTICLE_URL, IMAGE_URL, MemoryStore, article, outgoing
from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegram

Tg = Running[FakeTelegram]
CLOSURE = "Our outlets will be closed from <b>26 Mar (Tue)</b> to <b>27 Mar (Wed)</b>."
ARTICLE = f"<b>New on our blog: Can Botox Treat Depression?</b>\n\n{ARTICLE_URL}"


@pytest.fixture
def tg() -> Iterator[Tg]:
    with running(FakeTelegram()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(
    tg: Tg, http: httpx.AsyncClient, chat_id: str = "@glowaesthetics", **kwargs: Any
) -> TelegramChannel:
    kwargs.setdefault("store", MemoryStore())
    kwargs.setdefault("token", tg.fake.token)
    return TelegramChannel(http, chat_id=chat_id, api_url=tg.url, **kwargs)


async def post(ch: TelegramChannel, text: str = CLOSURE, **fields: Any) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, part="html", channel="telegram", **fields)))


# Standard sends -----------------------------------------------------------------------------


async def test_a_closure_is_sent_as_html_without_a_link_preview(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    receipt = await post(channel(tg, http))
    (sent,) = tg.fake.sent
    assert sent["method"] == "sendMessage" and sent["chat_id"] == "@glowaesthetics"
    assert sent["text"] == CLOSURE and sent["parse_mode"] == "HTML"
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert tg.fake.messages[(-1001234567890, 1)]["text"].startswith("Our outlets will be closed")
    assert receipt == {
        "message_id": 1,
        "chat_id": -1001234567890,
        "date": receipt["date"],
        "method": "sendMessage",
        "url": "https://t.me/glowaesthetics/1",
    }


async def test_an_article_with_an_image_is_a_photo_with_a_caption(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    ch = channel(tg, http)
    receipt = await ch.send(ch.build(article(ARTICLE, part="html", channel="telegram")))
    (sent,) = tg.fake.sent
    assert sent["method"] == "sendPhoto" and sent["photo"] == IMAGE_URL
    assert sent["caption"] == ARTICLE and sent["parse_mode"] == "HTML"
    assert receipt["method"] == "sendPhoto"


async def test_an_article_without_an_image_previews_its_link(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    ch = channel(tg, http)
    await ch.send(ch.build(article(ARTICLE, part="html", channel="telegram", image="")))
    (sent,) = tg.fake.sent
    assert sent["method"] == "sendMessage"
    assert sent["link_preview_options"] == {"url": ARTICLE_URL, "prefer_large_media": True}


async def test_a_message_too_long_for_a_caption_goes_whole_as_a_message(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    long = "Botox " * 200 + ARTICLE_URL  # 1200+ characters: fits 4096, not 1024
    ch = channel(tg, http)
    payload = ch.build(article(long, part="html", channel="telegram"))
    assert payload.method == "sendMessage" and payload.params["text"] == long
    await ch.send(payload)
    assert tg.fake.sent[0]["link_preview_options"]["url"] == ARTICLE_URL


async def test_an_image_telegram_cannot_fetch_falls_back_to_a_message(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    tg.fake.unfetchable_photos.add(IMAGE_URL)
    ch = channel(tg, http)
    receipt = await ch.send(ch.build(article(ARTICLE, part="html", channel="telegram")))
    assert [s["method"] for s in tg.fake.sent] == ["sendMessage"]
    assert receipt["method"] == "sendMessage"


async def test_options_from_the_config_reach_the_request(http: httpx.AsyncClient) -> None:
    ch = TelegramChannel(
        http,
        token=DEFAULT_TOKEN,
        chat_id="-1001234567890",
        store=MemoryStore(),
        link_preview=False,
        disable_notification=True,
    )
    payload = ch.build(article(ARTICLE, part="html", image=""))
    assert payload == ApiCall(
        "sendMessage",
        {
            "parse_mode": "HTML",
            "disable_notification": True,
            "text": ARTICLE,
            "link_preview_options": {"is_disabled": True},
        },
    )
    assert [t.key for t in ch.targets()] == ["-1001234567890"]


# Telegram's errors --------------------------------------------------------------------------


async def test_429_waits_as_long_as_telegram_asks(tg: Tg, http: httpx.AsyncClient) -> None:
    tg.fake.fail_with_429(retry_after=7)
    with pytest.raises(RetryableError) as caught:
        await post(channel(tg, http))
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message


@pytest.mark.parametrize(
    ("status", "text"), [(502, "HTTP 502 Bad Gateway"), (500, "Internal Server Error")]
)
async def test_server_errors_are_retryable(
    tg: Tg, http: httpx.AsyncClient, status: int, text: str
) -> None:
    tg.fake.fail_with_5xx(status)
    with pytest.raises(RetryableError, match=text):
        await post(channel(tg, http))


async def test_markup_telegram_refuses_is_permanent_with_its_reason(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError, match="can't parse entities: Unsupported start tag"):
        await post(channel(tg, http), "<p>Closed</p>")
    assert tg.fake.sent == []


async def test_an_unknown_chat_is_permanent(tg: Tg, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentError, match="sendMessage: Bad Request: chat not found"):
        await post(channel(tg, http, chat_id="@nosuchchannel"))


async def test_a_wrong_token_is_permanent_and_never_shown(tg: Tg, http: httpx.AsyncClient) -> None:
    wrong = "999999:WRONGtokenWRONGtokenWRONGtoken"
    with pytest.raises(PermanentError) as caught:
        await post(channel(tg, http, token=wrong))
    assert "Unauthorized (check BROADCAST_TELEGRAM_TOKEN)" in caught.value.message
    assert wrong not in str(caught.value) and "WRONG" not in caught.value.message


async def test_a_migrated_group_is_followed_once_remembered_and_reported(
    tg: Tg, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    tg.fake.add_chat(-4001)
    tg.fake.migrate(-4001, -1004001)
    store = MemoryStore()
    ch = channel(tg, http, chat_id="-4001", store=store)
    receipt = await post(ch)
    assert [s["chat_id"] for s in tg.fake.sent] == [-1004001]
    assert receipt["chat_id"] == -1004001 and "became supergroup -1004001" in receipt["note"]
    assert "chat -4001 became supergroup -1004001" in caplog.text
    assert [t.key for t in ch.targets()] == ["-4001"]  # the ledger's target stays the same
    requests = len(tg.fake.requests)
    await post(channel(tg, http, chat_id="-4001", store=store))
    assert len(tg.fake.requests) == requests + 1  # straight to the supergroup


async def test_a_chat_that_moves_twice_is_not_chased(tg: Tg, http: httpx.AsyncClient) -> None:
    tg.fake.add_chat(-4001)
    tg.fake.migrate(-4001, -1004001)
    tg.fake.migrate(-1004001, -1004002)
    with pytest.raises(PermanentError, match="upgraded to a supergroup"):
        await post(channel(tg, http, chat_id="-4001"))
    assert tg.fake.sent == []


async def test_a_lost_reply_is_not_retried_because_telegram_might_have_posted(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    tg.fake.drop_connection(on="sendMessage")
    with pytest.raises(NoReply, match="Telegram may have posted it") as caught:
        await post(channel(tg, http))
    assert "broadcast resolve ID --sent" in caught.value.message
    assert TelegramChannel.repeat_unknown_within is None  # so the Sender leaves it unknown


async def test_an_unreachable_api_is_retryable_and_not_retried_per_message(
    http: httpx.AsyncClient,
) -> None:
    with running(FakeTelegram()) as gone:
        url = gone.url
    ch = TelegramChannel(http, token=DEFAULT_TOKEN, chat_id="@x", store=MemoryStore(), api_url=url)
    batch = [outgoing(CLOSURE, part="html", delivery_id=n) for n in (1, 2)]
    outcomes = [outcome async for _id, outcome in ch.deliver(batch)]
    assert all(isinstance(o, RetryableError) for o in outcomes)
    messages = [o.message for o in outcomes if isinstance(o, RetryableError)]
    assert messages[0] == messages[1] and messages[0].startswith("telegram: cannot reach 127.0.0.1")


# Corrections edit the post ------------------------------------------------------------------


async def test_a_correction_edits_the_message_it_corrects(tg: Tg, http: httpx.AsyncClient) -> None:
    ch = channel(tg, http)
    first = await post(ch)
    fixed = CLOSURE.replace("27 Mar", "28 Mar")
    receipt = await post(ch, fixed, occasion="edit", original=first)
    edit = tg.fake.sent[-1]
    assert edit["method"] == "editMessageText" and edit["chat_id"] == -1001234567890
    assert edit["params"]["message_id"] == first["message_id"] and edit["text"] == fixed
    assert tg.fake.messages[(-1001234567890, 1)]["text"].endswith("28 Mar (Wed).")
    assert receipt["message_id"] == first["message_id"] and "note" not in receipt
    with pytest.raises(AlreadyDelivered, match="message is not modified"):
        await post(ch, fixed, occasion="edit", original=first)  # a retry of an applied edit


async def test_a_photo_post_is_corrected_by_editing_its_caption(
    tg: Tg, http: httpx.AsyncClient
) -> None:
    ch = channel(tg, http)
    first = await ch.send(ch.build(article(ARTICLE, part="html", channel="telegram")))
    fixed = ARTICLE.replace("Depression?", "Depression? (updated)")
    await post(ch, fixed, original=first)
    assert tg.fake.sent[-1]["method"] == "editMessageCaption"
    assert tg.fake.messages[(-1001234567890, 1)]["caption"].endswith(ARTICLE_URL)


# check ---------------------------------------------------------------------------------------


async def test_check_proves_token_and_chat_without_posting(tg: Tg, http: httpx.AsyncClient) -> None:
    description = await channel(tg, http).check()
    assert description == (
        "telegram: bot @broadcaster_bot can see channel 'Glow Aesthetics' (@glowaesthetics)"
    )
    assert tg.fake.sent == []
    with pytest.raises(PermanentError, match="chat not found"):
        await channel(tg, http, chat_id="@elsewhere").check()


# Limits: UTF-16 units of the text left after markup ----------------------------------------


@pytest.mark.parametrize(
    ("html", "units"),
    [
        ("<b>Closed</b> &amp; back", 13),  # tags are free, &amp; is one character
        ("😀" * 3, 6),  # astral emoji are two UTF-16 units each
        ("診所休息", 4),
        ("e\u0301", 2),  # a combining mark is its own unit
    ],
)
def test_telegram_lengths_count_visible_utf16_units(html: str, units: int) -> None:
    assert TEXT_LIMITS.measure(html) == units


async def test_a_fitted_message_of_emoji_is_accepted_even_if_telegram_counts_utf16(
    http: httpx.AsyncClient,
) -> None:
    text = fit("<b>Closed</b> " + "😀 " * 3000 + ARTICLE_URL, TEXT_LIMITS)
    assert TEXT_LIMITS.measure(text) <= 4096 and text.endswith(ARTICLE_URL)
    with running(FakeTelegram(length_unit="utf16")) as strict:
        await post(channel(strict, http), text)
        assert strict.fake.sent[0]["text"] == text


def test_a_caption_budget_is_1024_units() -> None:
    assert CAPTION_LIMITS.fits("x" * 1024) and not CAPTION_LIMITS.fits("😀" * 513)
