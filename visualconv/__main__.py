"""``python -m visualconv`` is the same as the ``visualconv`` command."""

from visualconv.cli import main

raise SystemExit(main())
