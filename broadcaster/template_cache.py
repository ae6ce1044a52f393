"""Compiled templates kept between runs, as Python keeps ``.pyc`` files.

Every ``run`` proves every template before it sends anything (:mod:`broadcaster.template_check`),
and compiling a Jinja template to Python costs a few milliseconds: the built-in templates took
about a third of a run's CPU. Jinja can keep what it compiled (its bytecode cache), and then a
template costs the reading of a small file. A template is compiled again whenever its text
changes (the cache keeps a checksum of it), and so it is when Jinja, Python or the way
broadcaster sets up its environments changes: the checksum covers those too.

The files live where Jinja keeps them by default: a folder of the user's own in the system's
temporary folder (``_jinja2-cache-<uid>``, made readable and writable by that user alone, and
refused if anyone else owns it). Where there is no such folder, or it cannot be written,
templates are simply compiled each time.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from functools import cache
from typing import Any

from jinja2 import Environment
from jinja2.bccache import Bucket, FileSystemBytecodeCache

from broadcaster import __version__


class TemplateCache(FileSystemBytecodeCache):
    """Jinja's file cache, under names of broadcaster's own, that never fails a render."""

    def __init__(self, directory: str | None = None) -> None:
        super().__init__(directory, pattern="broadcaster-%s.cache")

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        """Jinja's bucket, its checksum covering the environment's setup as well as the text."""
        bucket = Bucket(
            environment, self.get_cache_key(name, filename), _checksum(source, environment)
        )
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # an unreadable or damaged file: compile, as if there were none
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):  # a cache that cannot be written costs time, never a message
            super().dump_bytecode(bucket)


def _checksum(source: str, environment: Environment) -> str:
    """Names a template's text and everything else its compiled code depends on."""
    text = f"{source}\0{setup_of(environment)}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def setup_of(environment: Environment) -> str:
    """What, besides its text, decides what a template compiles to in ``environment``."""
    autoescape: object = environment.autoescape
    if callable(autoescape):  # select_autoescape: its choices are in its closure
        cells = [cell.cell_contents for cell in getattr(autoescape, "__closure__", None) or ()]
        autoescape = f"{getattr(autoescape, '__qualname__', '?')}{cells!r}"
    options: tuple[Any, ...] = (
        __version__,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        sorted(environment.extensions),
        autoescape,
    )
    return repr(options)


@cache
def template_cache() -> TemplateCache | None:
    """The cache every environment of this process shares; None where there can be none."""
    try:
        return TemplateCache()
    except (OSError, RuntimeError):  # no temporary folder, or one someone else owns
        return None
