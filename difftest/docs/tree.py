"""Small tree drawings of layers, merged views and upper layers, and side-by-side columns.

```
l0/ (top lower)        u/ (upper)
├── a   file "x"       └── a   whiteout (char device 0:0)
└── d/  dir
    └── f   file ""
```

Names are drawn as the tree command draws them; the annotation after each name comes from
:func:`difftest.docs.facts.describe` (overlay xattrs by their short names: ``opaque=y`` is
``trusted.overlay.opaque=y``).
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Mapping, Sequence

from difftest.docs.facts import name_of, quoted, text_of
from difftest.docs.runner import EntryView
from model.spec import PRIVATE_PREFIX, Entry, LayersSpec

# Overlay xattrs drawn by their short names (an escaped ``trusted.overlay.overlay.*`` is not).
SHORT_NAMES = (b"opaque", b"redirect", b"origin", b"impure", b"whiteout", b"metacopy", b"nlink")

Annotated = Mapping[bytes, tuple[str, bool]]  # path -> (annotation, is_dir)


def draw(title: str, entries: Annotated, root_note: str = "") -> list[str]:
    """A tree of absolute paths (``b"/"`` is the root) with annotations."""
    children: dict[bytes, list[bytes]] = {}
    for path in entries:
        if path == b"/":
            continue
        parent = path.rsplit(b"/", 1)[0] or b"/"
        children.setdefault(parent, []).append(path)
    head = title + (f"  {root_note}" if root_note else "")
    lines = [head]
    rows: list[tuple[str, str]] = []

    def walk(parent: bytes, prefix: str) -> None:
        kids = sorted(children.get(parent, []))
        for i, path in enumerate(kids):
            last = i == len(kids) - 1
            note, is_dir = entries[path]
            name = name_of(path.rsplit(b"/", 1)[1]) + ("/" if is_dir else "")
            rows.append((prefix + ("└── " if last else "├── ") + name, note))
            walk(path, prefix + ("    " if last else "│   "))

    walk(b"/", "")
    if not rows:
        return [*lines, "(empty)"]
    width = max(len(r[0]) for r in rows)
    lines += [f"{left.ljust(width)}  {note}".rstrip() for left, note in rows]
    return lines


def side_by_side(blocks: Sequence[list[str]], gap: int = 4, max_width: int = 116) -> list[str]:
    """Blocks next to each other when they fit in ``max_width`` columns, else one above
    the other."""
    blocks = [b for b in blocks if b]
    widths = [max(len(line) for line in b) for b in blocks]
    if sum(widths) + gap * (len(blocks) - 1) > max_width:
        out: list[str] = []
        for b in blocks:
            if out:
                out.append("")
            out += b
        return out
    height = max(len(b) for b in blocks)
    out = []
    for row in range(height):
        cells = [
            (b[row] if row < len(b) else "").ljust(w) for b, w in zip(blocks, widths, strict=True)
        ]
        out.append((" " * gap).join(cells).rstrip())
    return out


# ---- layers as the example's spec gives them ----------------------------------------------


def _entry_note(e: Entry) -> str:
    kind = e.kind
    if kind == "whiteout":
        return "whiteout (char device 0:0)"
    if kind == "hardlink":
        return f"hard link to {text_of(e.target)}"
    parts: list[str] = []
    if kind == "reg":
        parts.append(f"file {quoted(e.data, e.file_size, hole_after=True)}")
    elif kind == "lnk":
        parts.append(f"symlink → {text_of(e.target)}")
    elif kind in ("chr", "blk"):
        name = "char" if kind == "chr" else "block"
        parts.append(f"{name} device {os.major(e.rdev)}:{os.minor(e.rdev)}")
    elif kind != "dir":  # a directory's name ends in "/" in the drawing
        parts.append(kind)
    perm = stat_mod.S_IMODE(e.mode)
    default = {"reg": 0o644, "dir": 0o755, "lnk": 0o777}.get(kind, 0o644)
    if perm != default and kind != "lnk":
        parts.append(f"mode {perm:04o}")
    if e.uid or e.gid:
        parts.append(f"owner {e.uid}:{e.gid}")
    for k, v in e.xattrs:
        rest = k[len(PRIVATE_PREFIX) :]
        short = rest if k.startswith(PRIVATE_PREFIX) and rest in SHORT_NAMES else k
        if k.startswith(PRIVATE_PREFIX) and short in (b"origin", b"impure"):
            parts.append(text_of(short))
        else:
            parts.append(f"{text_of(short)}={text_of(v)}" if v else text_of(short))
    return ", ".join(parts)


def _layer(entries: Sequence[Entry]) -> tuple[dict[bytes, tuple[str, bool]], str]:
    out: dict[bytes, tuple[str, bool]] = {}
    root_note = ""
    for e in entries:
        rel = e.path.strip(b"/")
        if rel in (b"", b"."):
            root_note = _entry_note(e)
            continue
        out[b"/" + rel] = (_entry_note(e), e.kind == "dir")
    return out, root_note


def draw_layers(spec: LayersSpec) -> list[str]:
    """Every layer of the example, top lower first, then the data-only layers, the upper
    layer last."""
    blocks = []
    n = len(spec.lowers)
    for i, layer in enumerate(spec.lowers):
        role = " (top lower)" if i == 0 and n > 1 else " (lower)" if n == 1 else ""
        if i == n - 1 and n > 1:
            role = " (bottom lower)"
        entries, note = _layer(layer)
        blocks.append(draw(f"l{i}/{role}", entries, note))
    for i, layer in enumerate(spec.data):
        entries, note = _layer(layer)
        blocks.append(draw(f"d{i}/ (data-only)", entries, note))
    if spec.upper is not None:
        entries, note = _layer(spec.upper)
        blocks.append(draw("u/ (upper)", entries, note))
    return side_by_side(blocks)


# ---- views after a run ----------------------------------------------------------------------


def annotate(view: Mapping[bytes, EntryView], show_inodes: bool) -> dict[bytes, tuple[str, bool]]:
    from difftest.docs.facts import describe

    out = {}
    for path, e in view.items():
        note = describe(e.facts, e.data, show_inodes=show_inodes, size=e.size)
        out[path] = (note, bool(e.facts) and e.facts[0] == "dir")
    return out


def draw_view(title: str, view: Mapping[bytes, EntryView], show_inodes: bool) -> list[str]:
    entries = annotate(view, show_inodes)
    root = entries.pop(b"/", ("", True))[0]
    return draw(title, entries, root)
