"""The whole config as one model, assembled from the channel registry, and the secrets.

``channels:`` has one optional section per registered channel and :data:`Secrets` one field
per secret a channel declares (:mod:`broadcaster.channels.kit`): both are made here from the
registry, so adding a channel touches no config code. Secrets never live in the YAML; they come
from ``BROADCAST_<FIELD>`` variables or a ``.env`` file and are typed ``SecretStr`` so they
never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcaster.channels.kit import CHANNELS, kits
from broadcaster.config_fields import ChannelSection, Strict
from broadcaster.config_sections import (
    Articles,
    Closure,
    HoursChange,
    Lifecycle,
    Schedule,
    ServeConfig,
    Site,
)
from broadcaster.config_yaml import nearest_line

S = TypeVar("S", bound=ChannelSection)


class ChannelSections(Strict):
    """Base of :data:`ChannelsConfig`, whose fields -- one optional section per channel, a
    channel without a section is not used -- come from the registry
    (:data:`broadcaster.channels.kit.CHANNELS`), each typed by its channel's settings model."""

    @model_validator(mode="after")
    def _cards_need_a_public_folder(self) -> ChannelSections:
        """Notice cards are written beside the banner files and fetched by the platforms."""
        wanting = [name for name, section in self.configured().items() if section.draws_cards()]
        banner = getattr(self, "banner", None)
        if wanting and (banner is None or banner.public_url is None):
            raise ValueError(
                f"the notice cards for {' and '.join(wanting)} are written beside the banner "
                "files: set channels.banner.public_url to where the website serves them"
            )
        return self

    def configured(self) -> dict[str, ChannelSection]:
        """Each channel with a section, by name, in registry order."""
        return {
            name: section
            for name in CHANNELS
            if isinstance(section := getattr(self, name, None), ChannelSection)
        }

    def section(self, name: str, model: type[S]) -> S | None:
        """The section ``channels.<name>``, typed by its model (None when not configured)."""
        found = getattr(self, name, None)
        if found is not None and not isinstance(found, model):
            raise TypeError(f"channels.{name} is a {type(found).__name__}, not {model.__name__}")
        return found

    if TYPE_CHECKING:
        # Each channel's section is a field made from the registry at import time, so the type
        # checker knows neither its name nor its model; ``section()`` is the typed way in.
        def __getattr__(self, name: str) -> Any: ...


def _channels_model() -> type[ChannelSections]:
    """ChannelsConfig: one optional field per registered channel, typed by its kit's model."""
    fields: dict[str, Any] = {name: (kit.section | None, None) for name, kit in kits().items()}
    return create_model("ChannelsConfig", __base__=ChannelSections, __module__=__name__, **fields)


if TYPE_CHECKING:
    ChannelsConfig = ChannelSections
else:
    ChannelsConfig = _channels_model()


class Config(Strict):
    site: Site
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    closures: list[Closure] = Field(default_factory=list)
    #: days with other opening hours (a closure is the case of none)
    hours: list[HoursChange] = Field(default_factory=list)
    articles: Articles = Field(default_factory=Articles)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    database: str = "sqlite:///var/broadcaster.db"
    #: a folder of the admin's own templates, each overriding the built-in one of its name
    templates: Path | None = None
    schedule: Schedule = Field(default_factory=Schedule)
    serve: ServeConfig | None = None  # ``broadcast serve``

    @field_validator("closures", "hours", mode="before")
    @classmethod
    def _nothing_listed(cls, value: Any) -> Any:
        """``closures:`` with every entry deleted means none, not a mistake."""
        return [] if value is None else value


class SecretsBase(BaseSettings):
    """Credentials, only ever from the environment or ``.env``; ``SecretStr`` never prints.

    Each channel's secrets (:attr:`ChannelKit.secrets <broadcaster.channels.kit.ChannelKit>`)
    are added as fields by :data:`Secrets`; these are the ones no channel owns."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCAST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    #: overrides ``database:`` -- a PostgreSQL URL carries a password, so it may live here
    database_url: SecretStr | None = None
    #: ``broadcast serve``: signs confirmation links, undo links and form tokens (32+ chars)
    serve_secret: SecretStr | None = None

    def all_values(self) -> list[str]:
        """Every secret that is set, for redaction and for tests that grep output."""
        return [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]

    if TYPE_CHECKING:
        # A channel's secret is a field made from its kit at import time: the type checker
        # cannot list them, but each is a SecretStr or None.
        def __getattr__(self, name: str) -> SecretStr | None: ...


def _secrets_model() -> type[SecretsBase]:
    """Secrets: SecretsBase plus every channel's secrets, each BROADCAST_<FIELD>."""
    fields: dict[str, Any] = {
        name: (SecretStr | None, None) for kit in kits().values() for name in kit.secrets
    }
    return create_model("Secrets", __base__=SecretsBase, __module__=__name__, **fields)


if TYPE_CHECKING:
    Secrets = SecretsBase
else:
    Secrets = _secrets_model()


@dataclass(frozen=True)
class Loaded:
    """A validated config and where it came from (relative paths are resolved from cwd)."""

    config: Config
    path: Path
    lines: dict[tuple[str | int, ...], int]

    def line_of(self, *key: str | int) -> int | None:
        return nearest_line(self.lines, key)
