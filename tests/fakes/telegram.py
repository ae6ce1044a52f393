"""Fake Telegram Bot API (channel-apis.md §1 and §10), served with tests.fakes.server.serve.

It enforces what the real API rejects so client bugs fail in tests: Telegram's HTML subset,
length measured after markup is stripped (unit configurable, since the real unit is disputed),
unknown chats, migrated groups, and the error body shape whose HTTP status equals error_code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .base import FakeService, parse_params
from .telegram_html import TelegramHTML

DEFAULT_TOKEN = "123456789:AAHfakeTOKENforTESTSxxxxxxxxxxxxxxxx"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error; the HTTP status equals error_code, as on the real API."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return JSONResponse(body, status_code=self.code)


@dataclass(frozen=True)
class Chat:
    """A chat the bot may post to; it can be addressed by numeric id or by @username."""

    id: int
    title: str
    username: str | None = None
    type: str = "channel"

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        return body | ({"username": self.username} if self.username else {})


DEFAULT_CHAT = Chat(id=-1001234567890, title="Glow Aesthetics", username="glowaesthetics")


class FakeTelegram(FakeService):
    """Bot API at /bot<TOKEN>/<method>: getMe, sendMessage, sendPhoto, editMessageText/Caption."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        chats: Iterable[Chat | str | int] = (DEFAULT_CHAT,),
        length_unit: Literal["codepoints", "utf16"] = "codepoints",
    ) -> None:
        super().__init__()
        self.token = token
        self.chats: list[Chat] = [self._as_chat(chat, n) for n, chat in enumerate(chats)]
        self.length_unit = length_unit
        self.sent: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.migrated: dict[str, int] = {}
        self.unfetchable_photos: set[str] = set()  # photo URLs Telegram cannot download
        self.next_message_id = 1
        self.clock: Callable[[], float] = time.time
        self.app = Starlette(
            routes=[
                Route(
                    "/bot{token}/{method}", self.endpoint(self._dispatch), methods=["GET", "POST"]
                ),
                Route("/{path:path}", self.endpoint(self._not_found), methods=["GET", "POST"]),
            ]
        )

    @staticmethod
    def _as_chat(chat: Chat | str | int, n: int) -> Chat:
        """Accept Chat objects, '@username' strings (given a channel id) or bare numeric ids."""
        if isinstance(chat, Chat):
            return chat
        text = str(chat)
        if text.startswith("@"):
            return Chat(id=-1001234567890 - n, title=text[1:], username=text[1:])
        return Chat(id=int(text), title=f"Chat {text}")

    def add_chat(self, chat: Chat | str | int) -> Chat:
        """Make one more chat known to the bot."""
        self.chats.append(self._as_chat(chat, len(self.chats)))
        return self.chats[-1]

    def migrate(self, old_chat: int | str, new_chat_id: int) -> None:
        """The old group id now answers 400 with migrate_to_chat_id; the new id works."""
        self.migrated[str(old_chat)] = new_chat_id
        if not any(chat.id == new_chat_id for chat in self.chats):
            self.chats.append(Chat(id=new_chat_id, title=f"Chat {new_chat_id}", type="supergroup"))

    def too_many_requests(self, retry_after: int) -> Response:
        description = f"Too Many Requests: retry after {retry_after}"
        return ApiError(429, description, {"retry_after": retry_after}).response()

    def server_error(self, status: int) -> Response:
        """500 comes from the Bot API as JSON; 502/504 come from nginx in front of it, as HTML."""
        if status == 500:
            return ApiError(500, "Internal Server Error").response()
        title = {502: "502 Bad Gateway", 503: "503 Service Unavailable"}.get(status, f"{status}")
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status)

    async def _not_found(self, request: Request) -> Response:
        return ApiError(404, "Not Found").response()

    async def _dispatch(self, request: Request) -> Response:
        """Check the token, then route the case-insensitive method name."""
        method = request.path_params["method"]
        request.state.log["method"] = method
        try:
            params = await parse_params(request)
        except ValueError:
            return ApiError(400, "Bad Request: can't parse JSON object").response()
        request.state.log["params"] = params
        if request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "getme": self._get_me,
            "getchat": self._get_chat,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_text,
            "editmessagecaption": self._edit_caption,
        }
        handler = handlers.get(method.lower())
        if handler is None:
            return ApiError(404, "Not Found").response()
        try:
            return JSONResponse({"ok": True, "result": handler(params)})
        except ApiError as error:
            return error.response()

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        bot_id = int(self.token.split(":")[0])
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Broadcaster",
            "username": "broadcaster_bot",
        }

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChat: the ChatFullInfo of a chat the bot is in (abridged)."""
        chat = self._chat(params.get("chat_id"))
        return chat.json() | {"accent_color_id": 0, "max_reaction_count": 11}

    def _chat(self, chat_id: Any) -> Chat:
        """Resolve chat_id as Telegram does: migrated groups first, then id or @username."""
        key = str(chat_id if chat_id is not None else "").strip()
        if not key:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if key in self.migrated:
            description = "Bad Request: group chat was upgraded to a supergroup chat"
            raise ApiError(400, description, {"migrate_to_chat_id": self.migrated[key]})
        for chat in self.chats:
            if key == str(chat.id) or (
                chat.username and key.lower() == f"@{chat.username.lower()}"
            ):
                return chat
        raise ApiError(400, "Bad Request: chat not found")

    def _plain(self, text: str, parse_mode: Any) -> str:
        """The text after entity parsing. MarkdownV2/Markdown are not parsed (measured raw)."""
        if parse_mode in (None, ""):
            return text
        if parse_mode not in ("HTML", "MarkdownV2", "Markdown"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if parse_mode != "HTML":
            return text
        try:
            return TelegramHTML(text).plain_text()
        except ValueError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None

    def _length(self, text: str) -> int:
        return len(text) if self.length_unit == "codepoints" else len(text.encode("utf-16-le")) // 2

    def _checked_text(self, params: dict[str, Any]) -> str:
        plain = self._plain(str(params.get("text") or ""), params.get("parse_mode"))
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if self._length(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    def _checked_caption(self, params: dict[str, Any]) -> str:
        plain = self._plain(str(params.get("caption") or ""), params.get("parse_mode"))
        if self._length(plain) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return plain

    @staticmethod
    def _preview_options(params: dict[str, Any]) -> Any:
        value = params.get("link_preview_options")
        try:
            return json.loads(value) if isinstance(value, str) else value
        except ValueError:
            raise ApiError(
                400, "Bad Request: can't parse link preview options JSON object"
            ) from None

    def _store(
        self, method: str, chat: Chat, body: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a Message, remember it for edits and record it in `sent`."""
        message: dict[str, Any] = {
            "message_id": self.next_message_id,
            "date": int(self.clock()),
            "chat": chat.json(),
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.json()
        else:
            message["from"] = self._get_me(params)
        message |= body
        self.next_message_id += 1
        self.messages[(chat.id, message["message_id"])] = message
        self._record(method, message, params)
        return message

    def _record(self, method: str, message: dict[str, Any], params: dict[str, Any]) -> None:
        photo = params.get("photo")
        self.sent.append(
            {
                "method": method,
                "message_id": message["message_id"],
                "chat_id": params.get("chat_id"),
                **{key: params[key] for key in ("text", "caption") if key in params},
                "parse_mode": params.get("parse_mode"),
                "link_preview_options": self._preview_options(params),
                "photo": {k: v for k, v in photo.items() if k != "data"}
                if isinstance(photo, dict)
                else photo,
                "params": params,
            }
        )

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text = self._checked_text(params)
        self._preview_options(params)
        return self._store("sendMessage", chat, {"text": text}, params)

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        if not params.get("photo"):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if isinstance(params["photo"], str) and params["photo"] in self.unfetchable_photos:
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        caption = self._checked_caption(params)
        n = self.next_message_id
        sizes = [
            {
                "file_id": f"AgACAgQAAx0Ccfake{n}{w}",
                "file_unique_id": f"AQADfake{n}{w}",
                "width": w,
                "height": w,
            }
            for w in (90, 320, 800)
        ]
        return self._store(
            "sendPhoto", chat, {"photo": sizes} | ({"caption": caption} if caption else {}), params
        )

    def _existing(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        try:
            return self.messages[(chat.id, int(params.get("message_id") or 0))]
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: message to edit not found") from None

    def _edit(self, method: str, field: str, value: str, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        if field == "text" and "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if field == "caption" and "photo" not in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        if message.get(field, "") == value:
            raise ApiError(400, NOT_MODIFIED)
        message[field], message["edit_date"] = value, int(self.clock())
        self._record(method, message, params)
        return message

    def _edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        self._existing(params)  # a missing message is reported before a bad text
        return self._edit("editMessageText", "text", self._checked_text(params), params)

    def _edit_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edit("editMessageCaption", "caption", self._checked_caption(params), params)
