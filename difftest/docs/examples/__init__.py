"""The examples, one module per area (see :mod:`difftest.docs.areas`).

Each module defines ``EXAMPLES: list[Example]``, ending with the line that
``difftest promote`` inserts new entries above.  Paths in layer entries are relative to the
layer (``b"d/f"``); paths in operations and expectations are absolute inside the mount
(``b"/d/f"``).
"""
