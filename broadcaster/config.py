"""The one YAML file an admin edits, validated strictly, plus secrets from the environment.

This module loads; the parts it loads with are each in their own module, and the names most
code uses are re-exported here:

- :mod:`broadcaster.config_yaml`: the file read as UTF-8 YAML with every key's line, and
  pydantic's errors placed as ``file:line: key.path: what is wrong``;
- :mod:`broadcaster.config_model`: :class:`Config` (its ``channels:`` assembled from the channel
  registry) and :data:`Secrets` (``BROADCAST_<FIELD>`` variables or ``.env``, never the YAML);
- :mod:`broadcaster.config_sections`: the site, notices, lifecycle, schedule and serve sections;
- :mod:`broadcaster.config_fields`: the strict base and field types every section uses.

The semantic rules (a closure ending before it starts, an unwritable folder) are
:mod:`broadcaster.checks`'; :func:`load` refuses a config that breaks one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from broadcaster.config_model import ChannelsConfig, Config, Loaded, Secrets
from broadcaster.config_sections import (
    ArticleItem,
    Articles,
    Closure,
    Feed,
    HoursChange,
    Lifecycle,
    Schedule,
    ServeConfig,
    ServeRateLimits,
    Site,
)
from broadcaster.config_yaml import dotted, located_problems, parse_yaml, utf8_text
from broadcaster.errors import ConfigError, ConfigProblem

__all__ = [
    "DEFAULT_CONFIG",
    "ArticleItem",
    "Articles",
    "ChannelsConfig",
    "Closure",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Feed",
    "HoursChange",
    "Lifecycle",
    "Loaded",
    "Schedule",
    "Secrets",
    "ServeConfig",
    "ServeRateLimits",
    "Site",
    "config_path",
    "dotted",
    "load",
    "read_secrets",
]

DEFAULT_CONFIG = "config/broadcaster.yaml"


def config_path(explicit: str | Path | None) -> Path:
    """``--config`` wins, then ``BROADCAST_CONFIG``, then the conventional location."""
    return Path(explicit or os.environ.get("BROADCAST_CONFIG") or DEFAULT_CONFIG)


def load(path: str | Path | None = None) -> Loaded:
    """Read, locate and validate the config; raise ConfigError listing every problem."""
    file = config_path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(file), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    text = utf8_text(raw, str(file))
    data, lines = parse_yaml(text, str(file))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(located_problems(exc, str(file), lines)) from None
    loaded = Loaded(config, file, lines)
    from broadcaster.checks import config_problems  # the semantic rules live in one place

    problems = [p for p in config_problems(loaded) if p.severity == "error"]
    if problems:
        raise ConfigError([p.as_config_problem() for p in problems])
    return loaded


def read_secrets() -> Secrets:
    """The secrets from the environment and ``.env``; a ``.env`` that cannot be read is a
    config mistake named by its file, never a traceback (and never shows a value)."""
    try:
        return Secrets()
    except UnicodeDecodeError:
        raise ConfigError(
            [ConfigProblem(".env", None, "", "not UTF-8 text: save it as UTF-8")]
        ) from None
    except ValidationError as exc:
        keys = ", ".join(f"BROADCAST_{str(e['loc'][0]).upper()}" for e in exc.errors())
        raise ConfigError(
            [ConfigProblem(".env", None, keys, "cannot be read as a secret (check its quoting)")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(".env", None, "", f"cannot read: {exc.strerror}")]
        ) from None


LiteralSeverity = Literal["error", "warning"]
