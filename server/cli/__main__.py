"""``python -m server.cli``: the ``blockwalk`` command."""

from server.cli import main

main()
