"""``python -m difftest``: same as the ``difftest`` command."""

from difftest.cli import main

raise SystemExit(main())
