"""ovlfuse: a FUSE overlay filesystem with the kernel overlayfs's semantics and on-disk format.

Modules follow the kernel's fs/overlayfs split: ``options`` (params.c), ``super`` (layer
setup, super.c), ``layers`` (logged calls into the real layers), ``lookup`` (namei.c),
``inode`` (inode.c), ``copy_up`` (copy_up.c), ``readdir`` (readdir.c), ``namespace``
(dir.c), ``xattrs`` (xattrs.c), ``file`` (file.c), ``fh`` (origin file handles) and
``operations`` (the pyfuse3 boundary); for the mount_program role of container engines,
``aufs`` (AUFS-style whiteouts) and ``owners`` (ID mapping, squashing, stat overrides).
Nothing here imports ``model`` or ``difftest``.
"""

__version__ = "0.1.0"

from ._pyfuse3_import import import_pyfuse3

import_pyfuse3()
