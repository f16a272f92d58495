"""The pages of ``reports/semantics/``: one per area, in reading order.

Each area's examples live in ``difftest/docs/examples/<module>.py`` as a list ``EXAMPLES``;
its page is ``reports/semantics/<page>.md``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace

from difftest.docs.schema import Example


@dataclass(frozen=True)
class Area:
    """One page: ``slug`` names the page file and the ``--area`` of ``difftest promote``;
    ``module`` the examples module; ``intro`` the rules in a paragraph or two."""

    slug: str
    module: str
    title: str
    intro: str

    @property
    def page(self) -> str:
        return f"{self.slug}.md"

    @property
    def module_name(self) -> str:
        """The examples module: ``module`` under ``difftest.docs.examples`` unless dotted."""
        return self.module if "." in self.module else f"difftest.docs.examples.{self.module}"

    def examples(self) -> list[Example]:
        mod = importlib.import_module(self.module_name)
        return [replace(ex, area=self.slug) for ex in mod.EXAMPLES]


AREAS: tuple[Area, ...] = (
    Area(
        "lookup",
        "lookup",
        "Lookup and merging",
        "A name is looked up in the upper layer first, then in each lower layer from the top "
        "(`l0`) down. The first layer that has the name decides what it is. A file, symlink "
        "or device hides everything below it, directories included. A directory is merged "
        "with the directories of the same name below it, until a layer has a non-directory "
        "or a whiteout at that name, or the directory is opaque. A merged directory takes "
        "its metadata from its topmost layer and always reports one link. On a read-write "
        "overlay a lookup can write to the upper layer: a merged upper directory without an "
        "origin gets one.",
    ),
    Area(
        "whiteouts",
        "whiteouts",
        "Whiteouts and opaque directories",
        "Removing a name that a lower layer provides cannot touch the lower layer. Instead "
        "the upper layer gets a *whiteout*, a character device 0:0, which hides the name "
        "from every lower layer. A name that only the upper layer has is simply removed. "
        "A directory created where a whiteout was is *opaque* (`trusted.overlay.opaque=y`): "
        "it hides the lower directories of the same name instead of merging with them. "
        "Only the value `y` makes a directory opaque.",
    ),
    Area(
        "copy-up",
        "copy_up",
        "Copy-up",
        "The lower layers never change. The first change to a lower object *copies it up* "
        "first: the upper layer gets a copy with the same type, mode, owner, times, "
        "non-private xattrs and data, with sparse holes kept, after its parent directories "
        "(copied without their contents). Opening for writing copies up at open time, even "
        "when nothing is written. Reading, stat, readlink, getxattr and opening read-only "
        "never copy up. A copy records where it came from in `trusted.overlay.origin` when "
        "the lower file has one link, and its upper parent is then marked "
        "`trusted.overlay.impure=y`.",
    ),
    Area(
        "readdir",
        "readdir",
        "Readdir",
        "A merged directory lists the union of its layers: the topmost entry of each name "
        "wins, whiteouts hide names, `.` and `..` appear once. The listing is built on the "
        "first getdents of an open directory and cached for that open file, so names "
        "created later appear only after `lseek(fd, 0, SEEK_SET)`. On a merged directory "
        "`SEEK_END` is EINVAL. The order of a merged listing follows each layer's hash "
        "order and is not predictable, so listings here are shown sorted (tolerance "
        "`readdir-order`).",
    ),
    Area(
        "rename",
        "rename",
        "Rename and redirects",
        "Renaming a file copies it up and leaves a whiteout at the old name when a lower "
        "layer has that name. Renaming a lower or merged directory needs a redirect, which "
        "the default `redirect_dir=follow` never creates: the rename fails with EXDEV "
        "before anything is copied up (GNU `mv` then copies instead, so the examples call "
        "rename(2) directly). A directory only in the upper layer can always be moved, and "
        "becomes opaque when it moves into a merged directory. renameat2's "
        "RENAME_NOREPLACE and RENAME_EXCHANGE work, RENAME_WHITEOUT is EINVAL. See "
        "[redirect_dir](option-redirect_dir.md) for renames with redirects.",
    ),
    Area(
        "hard-links",
        "links",
        "Hard links and inode numbers",
        "With all layers on one filesystem every object reports the overlay's st_dev, and "
        "st_ino is stable: a lower object's inode number is kept across its copy-up when "
        "the copy has an origin, and across remounts. Without the index, a lower file with "
        "several links loses its identity when one alias is copied up: the copy gets the "
        "upper inode, the other aliases keep the lower one and a stale link count, and "
        "writes no longer reach them. Renaming one such alias onto another removes the "
        "source. See [index](option-index.md) for hard links that survive copy-up.",
    ),
    Area(
        "xattrs",
        "xattrs",
        "Extended attributes",
        "The overlay's private attributes `trusted.overlay.*` are hidden from listxattr "
        "and getxattr. Setting one through the overlay stores it escaped, as "
        "`trusted.overlay.overlay.*` in the upper layer. A merged directory shows the upper "
        "directory's xattrs only. Setting or removing an xattr copies the object up (a "
        "directory without its contents), except removing one that does not exist.",
    ),
    Area(
        "read-only",
        "readonly",
        "Read-only overlays and remount",
        "An overlay without an upper layer, or mounted `ro`, refuses every change with "
        "EROFS. The VFS checks for EROFS before it looks up the last name for removals "
        "(so removing a missing name gives EROFS) but after it for creations (so creating "
        "an existing name gives EEXIST). Everything an overlay writes lives in its upper "
        "layer, so it persists across an unmount and a new mount of the same layers.",
    ),
    Area(
        "live-remount",
        "live_remount",
        "Live remount between read-only and read-write",
        "`mount -o remount,ro` turns a live overlay read-only without closing its files, "
        "and `remount,rw` turns it back. The overlay's read-only state is its write access "
        "to the upper layer: after `remount,ro` every change fails with EROFS and nothing "
        "is copied up, while files open for reading keep working. The VFS refuses "
        "`remount,ro` with EBUSY while a regular file is open for writing, or while an open "
        "file holds an object whose last name is gone. An overlay without an upper layer "
        "cannot be remounted read-write (EROFS). The other mount options stay as they were.",
    ),
    Area(
        "nested",
        "nested",
        "Nested overlays",
        "An overlay can be the lower layer of another overlay. The outer overlay sees what "
        "the inner one shows: the inner's whiteouts, opaque directories and private xattrs "
        "are its own business, a directory it merges has one link, and the names it lists "
        "but does not find (the whiteouts of a directory it does not merge) are listed and "
        "not found. Escaped xattrs on the inner layers (`trusted.overlay.overlay.*`) reach "
        "the outer overlay unescaped, as its own private xattrs: that is how nested layers "
        "carry the outer overlay's marks. An overlay cannot decode file handles, so the "
        "outer overlay runs without them: index=on falls back to off, and a copy-up records "
        "an empty origin. Examples run with the kernel's overlay as the inner one "
        "(`difftest --config nested`; `nested-on-ovlfuse` puts ovlfuse there).",
    ),
    Area(
        "option-redirect_dir",
        "opt_redirect_dir",
        "Option redirect_dir=on",
        "With `redirect_dir=on` a lower or merged directory can be renamed: the upper layer "
        "gets a copy of the directory (without its contents) carrying "
        "`trusted.overlay.redirect`, the old name gets a whiteout, and lookups of the new "
        "name follow the redirect to the lower directories. A redirect is the old name for "
        "a rename inside one directory and the absolute old path otherwise. The option "
        "also makes every new directory in a merged parent opaque. Each example below runs "
        "under the default options and under `redirect_dir=on`, side by side.",
    ),
    Area(
        "option-index",
        "opt_index",
        "Option index=on",
        "With `index=on` a copy-up of a lower file goes through `workdir/index/`, so all "
        "names of a lower hard link stay one inode after any of them is copied up: same "
        "data, same inode number, exact link count. Renaming one alias onto another is a "
        "no-op, as on any filesystem. The option also makes every new directory in a merged "
        "parent opaque. Each example below runs under the default options and under "
        "`index=on`, side by side; the drawings show the upper layer, not `w/index/`.",
    ),
    Area(
        "option-metacopy",
        "opt_metacopy",
        "Option metacopy=on and data-only layers",
        "With `metacopy=on` (which turns on `redirect_dir=on`) every copy-up of a regular file "
        "that does not write its data copies the metadata only: the upper file is a hole of "
        "the lower file's size carrying `trusted.overlay.metacopy`, and reads take the data "
        "from the lower file. Opening it for writing, or truncating it, copies the data. A "
        "metacopy file renamed or linked records where its data is with a redirect, as a "
        "moved directory does. Lower layers may hold metacopy files too, with their data in "
        "data-only layers (`lowerdir=l0::d0`), as composefs images do. Some examples run "
        "under the default options and under `metacopy=on`, side by side.",
    ),
    Area(
        "option-xino-volatile",
        "opt_xino_volatile",
        "Options xino and volatile",
        "With layers on several filesystems, `xino=on` (and `xino=auto`, where every layer's "
        "filesystem has file handles) gives every object the overlay's device and puts the "
        "fsid of the filesystem an inode number comes from in st_ino's high bits; on one "
        "filesystem inode numbers are the real ones whatever the option says, but `xino=on` "
        "still makes new directories in merged parents opaque. `volatile` drops every sync "
        "and leaves a marker in the workdir that refuses the next mount until removed.",
    ),
    Area(
        "option-userxattr",
        "opt_userxattr",
        "Option userxattr",
        "With `userxattr` the overlay keeps its own xattrs in `user.overlay.*` instead of "
        "`trusted.overlay.*`, which is what lets rootless container engines mount it inside "
        "a user namespace, where nobody may write `trusted.*`. It implies "
        "`redirect_dir=nofollow` and refuses `metacopy=on`. A user xattr cannot sit on a "
        "FIFO or symlink, so copies of those record no origin. (Inside a user namespace the "
        "origin of every copy-up is written empty, since file handles cannot be decoded "
        "there; difftest's `userns` preset checks that, these pages run as root.)",
    ),
    Area(
        "option-nfs_export",
        "opt_nfs_export",
        "Option nfs_export",
        "With `nfs_export=on` (which needs `index=on`) the overlay's file handles can be "
        "decoded: `open_by_handle_at` opens the object a handle names wherever it is now, "
        "and ESTALE once it is gone. To keep that true every copy-up goes through the "
        "index, an object is copied up before it is removed, and a lower directory may be "
        "copied up when its handle is taken. Without it `name_to_handle_at` is EOPNOTSUPP.",
    ),
    Area(
        "option-verity",
        "opt_verity",
        "Option verity",
        "`verity=on` makes the overlay check, at every open and copy-up of a metacopy file, "
        "the fs-verity digest its metacopy xattr records against the data file's; "
        "`verity=require` also refuses metacopy files without a digest and copies whole "
        "what it cannot record a digest for. The kernel these pages were verified on has no "
        "fs-verity (`CONFIG_FS_VERITY` is not set), so no digest can match: the examples show "
        "the refusals, not a successful check.",
    ),
    Area(
        "option-uuid",
        "opt_uuid",
        "Option uuid",
        "`uuid=on|auto|null|off` decides whether the overlay keeps a persistent uuid of its "
        "own in `trusted.overlay.uuid` on the upper root, and so where statfs's f_fsid comes "
        "from: the overlay's uuid, or the fsid of a layer's filesystem. `off` also writes "
        "file handles (`origin`) with a null uuid, which needs every layer on one "
        "filesystem. The default, `auto`, turns into `on` at the first mount of a new upper "
        "layer and into `null` for one an older kernel used. The fsid is compared on the "
        "kernel only: a FUSE mount cannot choose its own.",
    ),
)

BY_SLUG = {a.slug: a for a in AREAS}


def all_examples() -> list[Example]:
    """Every example of every area, in page order."""
    return [ex for area in AREAS for ex in area.examples()]
