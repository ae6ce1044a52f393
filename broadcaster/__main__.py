"""``python -m broadcaster`` is the ``broadcast`` command."""

from broadcaster.cli import main

main()
