"""One statement for many rows, through the driver's own ``executemany``.

Each email message passes through three ledger statements (claimed, started, recorded), and
SQLAlchemy Core spends about 25 µs of Python per row of an ``executemany`` preparing its
parameters -- measured, that was most of the sender's CPU (benchmarks/email_fanout.py). A
:class:`Bulk` statement is still written and compiled by SQLAlchemy, once per dialect; each
row's values then pass only through the column types' own bind processors (so SQLite keeps
its datetime format) on their way to ``Connection.exec_driver_sql``, a third of the cost.

Only what a statement names is written: Python-side column defaults are not applied here,
so a statement must give every NOT NULL column a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional paramstyles
    processors: dict[str, Processor]
    constants: dict[str, Any]  # values written into the statement, processed


class Bulk:
    """A statement built per dialect (``build``) and run for many rows at once."""

    def __init__(self, build: Callable[[Dialect], Executable]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def execute(self, conn: Connection, rows: Iterable[Mapping[str, Any]], **shared: Any) -> None:
        """Run for each of ``rows``; ``shared`` values are the same for every row."""
        compiled = self._for(conn.dialect)
        common = {**compiled.constants, **_processed(compiled.processors, shared)}
        params: list[Any] = []
        for row in rows:
            values = {**common, **_processed(compiled.processors, row)}
            params.append(
                values if compiled.order is None else tuple(values[n] for n in compiled.order)
            )
        if params:
            conn.exec_driver_sql(compiled.sql, params)

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self._build(dialect), dialect)
        return found


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    processors: dict[str, Processor] = {}
    constants: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
        if not bind.required:
            constants[name] = processor(bind.value) if processor else bind.value
    order = tuple(compiled.positiontup) if dialect.positional else None
    return _Compiled(compiled.string, order, processors, constants)


def _processed(processors: dict[str, Processor], values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: processors[name](value) if name in processors else value
        for name, value in values.items()
    }
