"""Inode numbers that stay unique when the layers span several filesystems (the kernel's xino).

Real inode numbers are unique only within one filesystem.  The kernel overlay without xino
gives each layer's non-directories a pseudo device of their own; a FUSE mount has a single
st_dev, so whenever its layers sit on more than one filesystem ovlfuse does what the kernel
does with xino (ovl_map_dev_ino), whatever the ``xino`` option says:

* each distinct filesystem (told apart by st_dev) has an *fsid*: the upper's is 0 (kept
  for it also when there is no upper layer), every other one among the lowers, top first,
  gets 1, 2, ... as it first appears; lowers on the upper's filesystem share 0;
* ``xinobits`` is ilog2(numfs - 1) + 2, numfs counting fsid 0: enough high bits for the
  largest fsid, plus the lowest of them, reserved for numbers ovlfuse hands out itself (the
  kernel's formula when the upper's inode numbers are not 32-bit; ovlfuse never assumes
  they are);
* a real inode number ``ino`` of fsid ``f`` is reported as ``ino | f << (65 - xinobits)``;
* a real number that already uses the top xinobits bits, or an object on a filesystem that
  is no layer's (a mount inside a layer), cannot be mapped like that.  It gets a number of
  its own from the reserved range (bit ``64 - xinobits`` set, the fsid bits clear), kept for
  as long as ovlfuse runs, so every name of the object shows the same one; it is not
  persistent across mounts.  (The kernel uses that range for such directories and falls
  back to its pseudo devices for other objects, which FUSE cannot have.)

With all layers on one filesystem every number is the real one, for any ``xino`` value
(the kernel: "xino=on is useless with all layers on same fs").
"""

from __future__ import annotations

import itertools
import os


class XinoMap:
    """Real (st_dev, st_ino) → the st_ino ovlfuse reports (rules in the module doc)."""

    def __init__(self, upper_dev: int | None, lower_devs: list[int]):
        self.fsids: dict[int, int] = {} if upper_dev is None else {upper_dev: 0}
        fsid = itertools.count(1)
        for dev in lower_devs:
            if dev not in self.fsids:
                self.fsids[dev] = next(fsid)
        self.samefs = len(self.fsids) == 1
        largest = max(self.fsids.values())  # numfs - 1
        self.xinobits = 0 if self.samefs else largest.bit_length() + 1
        self.shift = 64 - self.xinobits  # the lowest xino bit: the reserved range
        self._own: dict[tuple[int, int], int] = {}
        self._next_own = itertools.count(1)

    def ino(self, st: os.stat_result) -> int:
        """The reported inode number of the real object *st* is a stat of."""
        if self.samefs:
            return st.st_ino
        fsid = self.fsids.get(st.st_dev)
        if fsid is not None and not st.st_ino >> self.shift:
            return st.st_ino | fsid << (self.shift + 1)
        return self._own_number(st.st_dev, st.st_ino)

    def _own_number(self, dev: int, ino: int) -> int:
        """A number from the reserved range for an object that cannot be mapped."""
        number = self._own.get((dev, ino))
        if number is None:
            number = 1 << self.shift | next(self._next_own)
            self._own[(dev, ino)] = number
        return number
