"""Unsubscribe tokens: they name the subscriber, and nobody without the secret can make one."""

from __future__ import annotations

import pytest

from broadcaster.channels.email import tokens
from broadcaster.channels.email.tokens import address_to_suppress

SECRET = "a-long-random-unsubscribe-secret-1234"


def test_a_token_round_trips_to_its_address() -> None:
    token = tokens.make("amelia.tan@example.com", SECRET)
    assert tokens.verify(token, SECRET) == "amelia.tan@example.com"
    assert tokens.verify(token, SECRET.encode()) == "amelia.tan@example.com"
    assert token.startswith("1.")
    assert all(c.isalnum() or c in "._-" for c in token)  # safe in a URL as it stands


def test_tokens_differ_per_address_and_per_secret() -> None:
    a = tokens.make("a@example.com", SECRET)
    assert a != tokens.make("b@example.com", SECRET)
    assert a != tokens.make("a@example.com", SECRET + "x")
    assert a == tokens.make("a@example.com", SECRET)  # no state, no randomness


def forged() -> list[tuple[str, str]]:
    real = tokens.make("amelia.tan@example.com", SECRET)
    version, address, mac = real.split(".")
    other = tokens.make("ravi@example.org", SECRET).split(".")[1]
    flipped = mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    return [
        ("someone else's address with Amelia's signature", f"{version}.{other}.{mac}"),
        ("an altered signature", f"{version}.{address}.{flipped}"),
        ("signed with another key", tokens.make("amelia.tan@example.com", "guessed-secret-123456")),
        ("no signature", f"{version}.{address}."),
        ("an unknown version", f"2.{address}.{mac}"),
        ("not base64", f"{version}.{address}.!!!!"),
        ("non-ASCII", f"{version}.{address}.é{mac}"),
        ("empty", ""),
        ("garbage", "unsubscribe-me"),
    ]


@pytest.mark.parametrize(("case", "token"), forged(), ids=[c for c, _ in forged()])
def test_a_forged_or_damaged_token_is_rejected(case: str, token: str) -> None:
    assert tokens.verify(token, SECRET) is None


@pytest.mark.parametrize(
    ("address", "token", "secret", "expected"),
    [
        (" Amelia.Tan@Example.COM ", None, None, "amelia.tan@example.com"),
        (None, tokens.make("ravi@example.org", SECRET), SECRET, "ravi@example.org"),
        ("nope", None, None, ValueError("'nope': An email address must have an @-sign.")),
        (None, tokens.make("ravi@example.org", SECRET), None, ValueError("--token needs")),
        (None, "1.abc.def", SECRET, ValueError("this token was not made")),
        (None, None, None, ValueError("give either an address or --token")),
        ("a@example.com", "1.abc.def", SECRET, ValueError("give either an address or --token")),
    ],
)
def test_what_broadcast_unsubscribe_suppresses(
    address: str | None, token: str | None, secret: str | None, expected: str | ValueError
) -> None:
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError, match=f"^{expected}".replace("?", r"\?")):
            address_to_suppress(address, token, secret)
    else:
        assert address_to_suppress(address, token, secret) == expected
