"""Executable specification of Linux overlayfs (kernel 6.18): pure Python, no I/O.

The facade is :class:`model.overlay.Overlay`: one method per syscall, every failure an
:class:`model.errors.OvlError` carrying the errno (or the set of errnos the kernel may pick).
Names and paths are ``bytes``.
"""
