"""The config file read for validation: UTF-8 text, YAML with the line of every key, and
pydantic's errors placed on those lines.

Why the care with line numbers: the person fixing a config is an admin, not a developer, so
every mistake is reported as ``file:line: key.path: what is wrong`` and nothing is sent.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from broadcaster.errors import ConfigError, ConfigProblem

Lines = dict[tuple[str | int, ...], int]


def utf8_text(raw: bytes, file: str) -> str:
    """The config as text; an editor that saved it in another encoding is named, with the
    line of the first byte that is not UTF-8 (a BOM, as Notepad writes it, is fine)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = "UTF-16" if utf16 else "not UTF-8"
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    f"the file is {what} (byte 0x{raw[exc.start]:02x}): save it as UTF-8 "
                    "(in most editors: Save As, Encoding UTF-8)",
                )
            ]
        ) from None


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so pydantic validates them with a clear
    message (PyYAML itself crashes on 2024-02-30) and every value is located the same way."""


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same, parsed by libyaml where PyYAML was built with it (25 times faster); a
    file it refuses is parsed again by _Loader, whose messages the docs and tests quote."""


_Loader.yaml_implicit_resolvers = _FastLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, file: str) -> tuple[Any, Lines]:
    try:
        node, data = _parsed(text, _FastLoader)
    except yaml.YAMLError:
        node, data = _parsed_or_refused(text, file)
    lines: Lines = {}
    problems: list[ConfigProblem] = []
    if node is not None:
        _index(node, (), lines, problems, file)
    if problems:
        raise ConfigError(problems)
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(file, 1, "", "expected a mapping of sections (site:, closures:, ...)")]
        )
    return data, lines


def _parsed_or_refused(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Parsed by PyYAML's own parser, or its reason for refusing, on the line it names."""
    try:
        return _parsed(text, _Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {reason}")]) from None


def _parsed(text: str, loader_class: type[yaml.SafeLoader]) -> tuple[yaml.Node | None, Any]:
    """The document's nodes (for their lines) and its data, from one parse."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _index(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: Lines,
    problems: list[ConfigProblem],
    file: str,
) -> None:
    """Remember the line of every key and list item; catch duplicate keys YAML would hide."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if child in lines:
                problems.append(
                    ConfigProblem(
                        file, key_node.start_mark.line + 1, dotted(child), "duplicate key"
                    )
                )
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, problems, file)


def dotted(path: tuple[str | int, ...]) -> str:
    """``('closures', 0, 'end')`` -> ``closures[0].end``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def nearest_line(lines: Lines, key: tuple[str | int, ...]) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def located_problems(exc: ValidationError, file: str, lines: Lines) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        problems.append(ConfigProblem(file, nearest_line(lines, loc), dotted(loc), _message(error)))
    return problems


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see config/broadcaster.yaml for every key)"
    if kind == "missing":
        return "required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
