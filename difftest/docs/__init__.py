"""Semantics documentation by example (``difftest docs``).

Each rule of the model carries minimal *examples* (:class:`difftest.docs.schema.Example`):
starting layers, a few operations and hand-written expectations for the key facts.  The same
examples are pytest tests against the model and, where root and overlayfs are available,
against the kernel; ``difftest docs`` renders them into ``reports/semantics/`` as Markdown,
one page per area, with the kernel verification of each example stored in
``reports/semantics/verified.json`` so that the pages can be checked for staleness
deterministically.

Modules: :mod:`~difftest.docs.schema` (the example record and layer helpers),
:mod:`~difftest.docs.areas` (the pages), :mod:`~difftest.docs.runner` (running an example on
any target), :mod:`~difftest.docs.facts` (results and state as matchable facts),
:mod:`~difftest.docs.shell` (operations as commands), :mod:`~difftest.docs.tree` (tree
drawings), :mod:`~difftest.docs.verify` (kernel verification), :mod:`~difftest.docs.render`
(the Markdown), :mod:`~difftest.docs.promote` (saved cases to examples),
:mod:`~difftest.docs.features` (the catalogue's feature table) and
:mod:`~difftest.docs.deviations` (where the kernel's own documentation is wrong).
"""
