"""The channel kit: one registry of channels, each declaring its settings, secrets, class and
factory in a light settings module that the config assembles itself from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from broadcaster import config
from broadcaster.channels import TYPES, factory, known_channels
from broadcaster.channels.kit import CHANNELS, kit, kits
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.channels.settings.telegram import TelegramConfig

#: what a channel's own module may import, and a config load must not
CHANNEL_PACKAGES = ("PIL", "oauthlib", "requests_oauthlib", "google", "apprise", "twitter_text")


@pytest.mark.parametrize("name", list(CHANNELS))
def test_each_kit_names_a_channel_class_of_that_name_and_a_factory(name: str) -> None:
    assert TYPES[name].name == name
    assert callable(factory(name))


def test_the_config_has_one_section_per_registered_channel_in_registry_order() -> None:
    assert list(config.ChannelsConfig.model_fields) == list(CHANNELS) == known_channels()
    for name, declared in kits().items():
        field = config.ChannelsConfig.model_fields[name]
        assert field.annotation == declared.section | None
        assert field.default is None


def test_every_declared_secret_is_read_from_its_broadcast_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    declared = [secret for found in kits().values() for secret in found.secrets]
    assert len(declared) == len(set(declared)), "two channels declare the same secret"
    for secret in declared:
        monkeypatch.setenv(f"BROADCAST_{secret.upper()}", f"value-of-{secret}")
    secrets = config.Secrets()
    for secret in declared:
        assert getattr(secrets, secret) == SecretStr(f"value-of-{secret}")
    assert sorted(secrets.all_values()) == sorted(f"value-of-{s}" for s in declared)


def test_the_secrets_no_channel_owns_stay_fields_too() -> None:
    fields = set(config.Secrets.model_fields)
    assert {"database_url", "serve_secret"} <= fields
    assert fields - {"database_url", "serve_secret"} == {
        s for found in kits().values() for s in found.secrets
    }


def test_a_section_is_handed_out_typed_by_its_model() -> None:
    channels = config.ChannelsConfig.model_validate({"telegram": {"chat_id": "@clinic"}})
    assert channels.section("telegram", TelegramConfig) == TelegramConfig(chat_id="@clinic")
    assert channels.section("email", EmailConfig) is None
    assert list(channels.configured()) == ["telegram"]
    with pytest.raises(TypeError, match=r"channels\.telegram is a TelegramConfig, not EmailConfig"):
        channels.section("telegram", EmailConfig)


def test_an_unknown_channel_has_no_kit() -> None:
    with pytest.raises(KeyError):
        kit("telegarm")
    assert "telegarm" not in TYPES


def test_loading_the_config_module_imports_no_channel_code() -> None:
    """Every settings module is read at config load; none may pull in a channel's own (heavy)
    module: they name the class and factory as strings."""
    probe = (
        "import sys, broadcaster.config\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('broadcaster.', "
        + ", ".join(repr(p) for p in CHANNEL_PACKAGES)
        + ")))))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
        ).stdout.split()
    )
    settings = {f"broadcaster.channels.settings.{name}" for name in CHANNELS}
    assert settings <= loaded
    assert [m for m in loaded if m.split(".")[0] in CHANNEL_PACKAGES] == []
    channel_modules = {found.channel.partition(":")[0] for found in kits().values()}
    assert channel_modules & loaded == set()
