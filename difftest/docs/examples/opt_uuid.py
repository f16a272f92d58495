"""Option ``uuid=`` (overlayfs.rst "UUID and fsid"; util.c ``ovl_init_uuid_xattr``,
super.c ``ovl_statfs``, params.c ``ovl_show_options``; :mod:`model.super`)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg
from model.spec import IMPURE, UUID

EXAMPLES: list[Example] = [
    Example(
        id="uuid-first-mount-writes-a-persistent-uuid",
        title="The first mount of a new upper layer stores a uuid there, and statfs's fsid "
        "comes from it",
        rule="util.c `ovl_init_uuid_xattr` (uuid=auto is upgraded to on); super.c `ovl_statfs`",
        versus="uuid=off",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.Statfs(b"/"), ops.Remount(), ops.Statfs(b"/f")],
        expect={"results": ["fsid=uuid", "ok", "fsid=uuid"], "upper": {b"/": "dir uuid"}},
        expect_versus={"results": ["fsid=layer", "ok", "fsid=layer"],
                       "upper": {b"/": "dir -uuid"}},
        notes="Under the default `uuid=auto` the first mount writes a random "
        "`trusted.overlay.uuid` on the upper root (and /proc/mounts shows `uuid=on` once); "
        "every later mount reads it back, so the overlay's fsid stays the same across "
        "mounts. With `uuid=off` (or `null`) nothing is stored and statfs reports the upper "
        "filesystem's fsid; `off` also writes file handles with a null uuid.",
        features=("uuid",),
    ),
    Example(
        id="uuid-impure-root-is-an-old-overlay",
        title="An upper root already marked impure and holding no uuid mounts as uuid=null",
        rule="util.c `ovl_init_uuid_xattr` (\"any mount of old overlay - downgrade to "
        "uuid=null\")",
        config="uuid=auto",
        versus="uuid=on",
        spec=layers([reg(b"f", b"x")], upper=[dir_(b"", xattrs={IMPURE: b"y"})]),
        program=[ops.Statfs(b"/")],
        expect={"results": ["fsid=layer"], "upper": {b"/": "dir impure -uuid"}},
        expect_versus={"results": ["fsid=uuid"], "upper": {b"/": "dir impure uuid"}},
        notes="An impure mark on the root shows an upper layer some mount used before "
        "persistent uuids existed; `uuid=auto` leaves such a layer alone and reports the "
        "upper filesystem's fsid. An explicit `uuid=on` writes the uuid anyway.",
        features=("uuid",),
    ),
    Example(
        id="uuid-malformed-is-left-alone",
        title="A stored uuid of the wrong size makes the mount uuid=null and stays as it is",
        rule="util.c `ovl_init_uuid_xattr` (a getxattr error: \"failed to use uuid\")",
        config="uuid=on",
        spec=layers([reg(b"f", b"x")], upper=[dir_(b"", xattrs={UUID: b"short"})]),
        program=[ops.Statfs(b"/")],
        expect={"results": ["fsid=layer"], "upper": {b"/": "dir uuid=bad"}},
        notes="Not 16 bytes long: the kernel logs a warning, does not overwrite it, and runs "
        "the mount as `uuid=null`, whatever the option asked for.",
        features=("uuid",),
    ),
    Example(
        id="uuid-no-upper-fsid",
        title="Without an upper layer the default fsid is 0, and uuid=on becomes null",
        rule="super.c `ovl_statfs` (the null uuid); params.c (no upper: uuid=null)",
        config="no-upper",
        versus="no-upper+uuid=on",
        spec=layers([reg(b"f", b"x")], [dir_(b"d")], upper=None),
        program=[ops.Statfs(b"/")],
        expect={"results": ["fsid=zero"]},
        expect_versus={"results": ["fsid=layer"]},
        notes="No uuid can be stored without an upper layer: under `uuid=auto` statfs "
        "folds the null uuid into fsid 0; any other mode is shown as `uuid=null` and "
        "reports the top lower filesystem's fsid.",
        features=("uuid",),
    ),
    Example(
        id="uuid-null-ignores-a-stored-uuid",
        title="uuid=null leaves a stored uuid unused; uuid=auto reads it back",
        rule="util.c `ovl_init_uuid_xattr` (only on and auto load it); super.c `ovl_statfs`",
        config="uuid=null",
        versus="uuid=auto",
        spec=layers([reg(b"f", b"x")],
                    upper=[dir_(b"", xattrs={UUID: bytes(range(100, 116))})]),
        program=[ops.Statfs(b"/")],
        expect={"results": ["fsid=layer"], "upper": {b"/": "dir uuid"}},
        expect_versus={"results": ["fsid=uuid"], "upper": {b"/": "dir uuid"}},
        notes="The uuid an earlier mount stored stays on the upper root either way. Under "
        "`uuid=null` the overlay has no fsid of its own; under `auto` (and `on`) the stored "
        "value is the overlay's uuid again, so the fsid is the one earlier mounts reported.",
        features=("uuid",),
    ),
]
