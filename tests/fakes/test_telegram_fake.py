"""FakeTelegram behaves like the Bot API described in channel-apis.md §1."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import Running, eventually, running
from .telegram import Chat, FakeTelegram

Tg = Running[FakeTelegram]
CHANNEL = "@glowaesthetics"


def call(tg: Tg, method: str, **params: Any) -> httpx.Response:
    return tg.client.post(f"/bot{tg.fake.token}/{method}", json=params)


def error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False and body["error_code"] == response.status_code
    return response.status_code, body["description"]


def send_html(tg: Tg, text: str) -> httpx.Response:
    return call(tg, "sendMessage", chat_id=CHANNEL, text=text, parse_mode="HTML")


# Routing, auth, parameter encodings --------------------------------------------------------


def test_get_me(tg: Tg) -> None:
    body = tg.client.get(f"/bot{tg.fake.token}/getMe").json()
    assert body["ok"] is True and body["result"]["is_bot"] is True


def test_wrong_token_is_401(tg: Tg) -> None:
    response = tg.client.post("/bot123:wrong/sendMessage", json={"chat_id": CHANNEL, "text": "x"})
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert response.status_code == 401 and tg.fake.sent == []


def test_unknown_method_and_path_are_404(tg: Tg) -> None:
    expected = {"ok": False, "error_code": 404, "description": "Not Found"}
    assert call(tg, "sendTelepathy").json() == expected
    assert tg.client.get("/nothing").json() == expected


def test_method_names_are_case_insensitive(tg: Tg) -> None:
    assert call(tg, "SENDMESSAGE", chat_id=CHANNEL, text="hi").json()["ok"] is True


@pytest.mark.parametrize("encoding", ["query", "form", "json", "multipart"])
def test_params_in_every_encoding(tg: Tg, encoding: str) -> None:
    params = {"chat_id": CHANNEL, "text": "Closed 25 Dec"}
    url = f"/bot{tg.fake.token}/sendMessage"
    if encoding == "query":
        response = tg.client.get(url, params=params)
    elif encoding == "json":
        response = tg.client.post(url, json=params)
    else:  # form-urlencoded, or multipart when a file is attached
        files = {"x": ("x", b"")} if encoding == "multipart" else None
        response = tg.client.post(url, data=params, files=files)
    assert response.json()["result"]["text"] == "Closed 25 Dec"
    assert tg.fake.requests[-1]["params"]["text"] == "Closed 25 Dec"


def test_success_body_is_a_channel_message(tg: Tg) -> None:
    first = call(tg, "sendMessage", chat_id=CHANNEL, text="one").json()["result"]
    second = call(tg, "sendMessage", chat_id=-1001234567890, text="two").json()["result"]
    chat = {"id": -1001234567890, "type": "channel", "title": "Glow Aesthetics"}
    assert first["chat"] == chat | {"username": "glowaesthetics"} == first["sender_chat"]
    assert second["message_id"] == first["message_id"] + 1 and isinstance(first["date"], int)


def test_sent_records_link_preview_options_from_a_form_field(tg: Tg) -> None:
    options = {"is_disabled": False, "url": "https://example.org", "prefer_large_media": True}
    data = {"chat_id": CHANNEL, "text": "x", "link_preview_options": json.dumps(options)}
    tg.client.post(f"/bot{tg.fake.token}/sendMessage", data=data)
    sent = tg.fake.sent[0]
    assert sent["method"] == "sendMessage" and sent["link_preview_options"] == options
    assert sent["chat_id"] == CHANNEL and sent["text"] == "x" and sent["parse_mode"] is None


def test_unknown_chat_and_username_case(tg: Tg) -> None:
    assert error(call(tg, "sendMessage", chat_id="@nobody", text="x")) == (
        400,
        "Bad Request: chat not found",
    )
    assert call(tg, "sendMessage", chat_id="@GlowAesthetics", text="x").json()["ok"] is True


def test_configurable_chats() -> None:
    fake = FakeTelegram(chats=["@notices", -4001, Chat(id=-1009, title="T", username="t")])
    with running(fake) as tg:
        for chat_id in ("@notices", -4001, "-4001", "@t", -1009):
            assert call(tg, "sendMessage", chat_id=chat_id, text="x").json()["ok"] is True
        assert call(tg, "sendMessage", chat_id=CHANNEL, text="x").status_code == 400


def test_migrated_group(tg: Tg) -> None:
    group = tg.fake.add_chat(-4001)
    tg.fake.migrate(group.id, -1004001)
    body = call(tg, "sendMessage", chat_id=-4001, text="x").json()
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1004001},
    }
    assert call(tg, "sendMessage", chat_id=-1004001, text="x").json()["ok"] is True


# HTML parse mode and lengths ---------------------------------------------------------------

ACCEPTED_HTML = [
    "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>",
    '<del>d</del><span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler><a href="https://x.y">a</a>',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> <tg-time unix="1">now</tg-time>',
    '<code>c</code><pre>p</pre><pre><code class="language-python">x = 1</code></pre>',
    "<blockquote>q</blockquote><blockquote expandable>e</blockquote>",
    "&lt;tag&gt; &amp; &quot; &#169; &#x1F600;\nline two",
]


@pytest.mark.parametrize("text", ACCEPTED_HTML)
def test_allowed_html_is_accepted(tg: Tg, text: str) -> None:
    assert send_html(tg, text).json()["ok"] is True


def test_text_is_returned_without_markup(tg: Tg) -> None:
    result = send_html(tg, "<b>Closed</b> 25 Dec &amp; 26 Dec &#169;").json()["result"]
    assert result["text"] == "Closed 25 Dec & 26 Dec ©"


REJECTED_HTML = {
    "a<br>b": 'Unsupported start tag "br" at byte offset 1',
    "<div>x</div>": 'Unsupported start tag "div"',
    "<span>x</span>": 'Unsupported start tag "span"',
    "<p>x</p>": 'Unsupported start tag "p"',
    "<b>x": 'Can\'t find end tag corresponding to start tag "b"',
    "<b><i>x</b></i>": 'Unexpected end tag "b"',
    "x</b>": 'Unexpected end tag "b"',
    "a &nbsp; b": 'Unsupported HTML entity "&nbsp"',
    "AT&T": "Unescaped '&' at byte offset 2",
    "a &amp": "Unescaped '&'",
    "a & b": "Unescaped",
    "1 < 2": "Unescaped",
    "<a>x</a>": 'Tag "a" must have attribute "href"',
    "<code><b>x</b></code>": "can't be nested",
    "<blockquote><blockquote>x</blockquote></blockquote>": "Blockquotes can't be nested",
    "<!-- c -->x": "Unsupported start tag",
}


@pytest.mark.parametrize(("text", "reason"), REJECTED_HTML.items())
def test_bad_html_cannot_parse_entities(tg: Tg, text: str, reason: str) -> None:
    status, description = error(send_html(tg, text))
    assert status == 400 and description.startswith("Bad Request: can't parse entities: ")
    assert reason in description


def test_byte_offset_counts_utf8(tg: Tg) -> None:
    assert "at byte offset 5" in error(send_html(tg, "é\né<br>"))[1]


def test_text_limit_is_measured_after_markup(tg: Tg) -> None:
    assert send_html(tg, "<b>" + "x" * 4096 + "</b>").json()["ok"] is True
    assert send_html(tg, "&amp;" * 4096).json()["ok"] is True
    assert error(send_html(tg, "x" * 4097)) == (400, "Bad Request: message is too long")
    plain = call(tg, "sendMessage", chat_id=CHANNEL, text="<b>" + "x" * 4090 + "</b>")
    assert error(plain)[1] == "Bad Request: message is too long"  # no parse_mode: tags count


def test_length_unit_is_configurable() -> None:
    emoji = "😀" * 4096  # 4096 code points, 8192 UTF-16 units
    with running(FakeTelegram()) as tg:
        assert call(tg, "sendMessage", chat_id=CHANNEL, text=emoji).json()["ok"] is True
    with running(FakeTelegram(length_unit="utf16")) as tg:
        assert error(call(tg, "sendMessage", chat_id=CHANNEL, text=emoji))[0] == 400
        assert call(tg, "sendMessage", chat_id=CHANNEL, text="😀" * 2048).json()["ok"] is True


def test_empty_text(tg: Tg) -> None:
    for text in ("", "   \n", "<b> </b>"):
        assert error(send_html(tg, text)) == (400, "Bad Request: message text is empty")


def test_unsupported_parse_mode(tg: Tg) -> None:
    response = call(tg, "sendMessage", chat_id=CHANNEL, text="x", parse_mode="html5")
    assert error(response) == (400, "Bad Request: unsupported parse_mode")


# Photos and edits --------------------------------------------------------------------------


def test_send_photo_by_url_file_id_and_upload(tg: Tg) -> None:
    url = f"/bot{tg.fake.token}/sendPhoto"
    by_url = call(tg, "sendPhoto", chat_id=CHANNEL, photo="https://example.org/a.jpg", caption="c")
    by_id = call(tg, "sendPhoto", chat_id=CHANNEL, photo="AgACAgQAAxkBAAIB")
    upload = tg.client.post(
        url, data={"chat_id": CHANNEL}, files={"photo": ("a.png", b"PNG", "image/png")}
    )
    assert by_url.json()["result"]["caption"] == "c" and by_url.json()["result"]["photo"]
    assert by_id.json()["ok"] and upload.json()["ok"]
    photos = [sent["photo"] for sent in tg.fake.sent]
    assert photos[:2] == ["https://example.org/a.jpg", "AgACAgQAAxkBAAIB"]
    assert photos[2] == {"filename": "a.png", "content_type": "image/png", "size": 3}


def test_caption_limit_and_missing_photo(tg: Tg) -> None:
    caption = "<i>" + "x" * 1024 + "</i>"
    ok = call(tg, "sendPhoto", chat_id=CHANNEL, photo="id", caption=caption, parse_mode="HTML")
    assert ok.json()["ok"] is True
    long = call(tg, "sendPhoto", chat_id=CHANNEL, photo="id", caption="x" * 1025)
    assert error(long) == (400, "Bad Request: message caption is too long")
    missing = call(tg, "sendPhoto", chat_id=CHANNEL)
    assert error(missing) == (400, "Bad Request: there is no photo in the request")


def test_edit_message_text_and_caption(tg: Tg) -> None:
    text_id = call(tg, "sendMessage", chat_id=CHANNEL, text="old").json()["result"]["message_id"]
    photo_id = call(tg, "sendPhoto", chat_id=CHANNEL, photo="id").json()["result"]["message_id"]
    edited = call(tg, "editMessageText", chat_id=CHANNEL, message_id=text_id, text="new").json()
    assert edited["result"]["text"] == "new" and "edit_date" in edited["result"]
    caption = call(tg, "editMessageCaption", chat_id=CHANNEL, message_id=photo_id, caption="c")
    assert caption.json()["result"]["caption"] == "c"
    assert [sent["method"] for sent in tg.fake.sent][2:] == [
        "editMessageText",
        "editMessageCaption",
    ]
    same = call(tg, "editMessageText", chat_id=CHANNEL, message_id=text_id, text="new")
    assert error(same)[1].startswith("Bad Request: message is not modified")
    missing = call(tg, "editMessageText", chat_id=CHANNEL, message_id=999, text="x")
    assert error(missing) == (400, "Bad Request: message to edit not found")


# Fault switches ----------------------------------------------------------------------------


def test_429_with_retry_after_for_the_next_n_requests(tg: Tg) -> None:
    tg.fake.fail_with_429(retry_after=7, times=2)
    for _ in range(2):
        response = call(tg, "sendMessage", chat_id=CHANNEL, text="x")
        assert response.status_code == 429 and response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    assert call(tg, "sendMessage", chat_id=CHANNEL, text="x").json()["ok"] is True
    assert len(tg.fake.sent) == 1


def test_5xx_until_cleared_and_only_on_matching_methods(tg: Tg) -> None:
    tg.fake.fail_with_5xx(status=502, times=None, on="sendMessage")
    for _ in range(3):
        response = call(tg, "sendMessage", chat_id=CHANNEL, text="x")
        assert response.status_code == 502 and "502 Bad Gateway" in response.text
    assert call(tg, "getMe").status_code == 200
    tg.fake.clear_faults()
    assert call(tg, "sendMessage", chat_id=CHANNEL, text="x").status_code == 200


def test_500_is_json(tg: Tg) -> None:
    tg.fake.fail_with_5xx(status=500)
    assert error(call(tg, "getMe")) == (500, "Internal Server Error")


def test_delay_times_out_but_the_message_is_still_sent(tg: Tg) -> None:
    tg.fake.delay(1.0)
    with pytest.raises(httpx.ReadTimeout):
        tg.client.post(
            f"/bot{tg.fake.token}/sendMessage", json={"chat_id": CHANNEL, "text": "x"}, timeout=0.2
        )
    eventually(lambda: len(tg.fake.sent) == 1)  # so a blind retry would post it twice


def test_drop_connection_is_a_transport_error_and_nothing_is_sent(tg: Tg) -> None:
    tg.fake.drop_connection(times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        call(tg, "sendMessage", chat_id=CHANNEL, text="x")
    assert tg.fake.sent == [] and call(tg, "getMe").status_code == 200
    assert len(tg.fake.requests) == 2


def test_get_chat_describes_a_known_chat(tg: Tg) -> None:
    chat = call(tg, "getChat", chat_id=CHANNEL).json()["result"]
    assert chat["id"] == -1001234567890 and chat["type"] == "channel"
    assert chat["title"] == "Glow Aesthetics" and chat["username"] == "glowaesthetics"
    assert error(call(tg, "getChat", chat_id="@nobody")) == (400, "Bad Request: chat not found")


def test_a_photo_url_telegram_cannot_fetch(tg: Tg) -> None:
    tg.fake.unfetchable_photos.add("https://example.org/gone.jpg")
    refused = call(tg, "sendPhoto", chat_id=CHANNEL, photo="https://example.org/gone.jpg")
    assert error(refused) == (400, "Bad Request: failed to get HTTP URL content")
    assert tg.fake.sent == []
