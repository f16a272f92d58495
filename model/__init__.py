"""Executable specification of Linux overlayfs (kernel 6.18): pure Python, no I/O.

The facade is :class:`model.overlay.Overlay`: one method per syscall, every failure an
:class:`model.errors.OvlError` carrying the errno (or the set of errnos the kernel may pick).
Names and paths are ``bytes``.

Modules, split like ``fs/overlayfs``:

* :mod:`model.layer` — real layers: nodes, sparse data, the logical clock (``fs.h``/tmpfs)
* :mod:`model.fs` — one mount's state: layers, options, index (``struct ovl_fs``)
* :mod:`model.lookup` — one name across the layer stack (``namei.c``)
* :mod:`model.namei` — path walk: components, symlinks, search permission (VFS ``namei.c``)
* :mod:`model.inode` — st_ino, st_nlink, overlay inode identity (``inode.c``)
* :mod:`model.copy_up` — copy-up (``copy_up.c``)
* :mod:`model.namespace` — create, mkdir, mknod, symlink, link, unlink, rmdir (``dir.c``)
* :mod:`model.rename` — rename and renameat2 (``dir.c``)
* :mod:`model.readdir` — merged and real listings (``readdir.c``)
* :mod:`model.attr`, :mod:`model.xattrs` — setattr and xattrs (``inode.c``, ``xattrs.c``)
* :mod:`model.file`, :mod:`model.special` — open files, FIFOs, devices (``file.c``)
* :mod:`model.perm` — VFS permission checks; :mod:`model.dump` — the upper layer listing
* :mod:`model.bench` — ``python -m model.bench``: throughput on a mixed stream
"""
