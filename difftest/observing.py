"""Observing a target after a step: its own walk where it offers one (``observe_state()``),
the model's own walk for the model, else the generic walk of :mod:`difftest.observe`, which
defines what an observation is; each returns the same observation."""

from __future__ import annotations

from difftest.observe import Observation, walk
from difftest.syscalls import Syscalls
from difftest.targets.observe_model import observe_model
from model.overlay import Overlay


def observe(sys: Syscalls) -> Observation:
    """The state of ``sys`` now.  The model's fast walk is not used for subclasses of the
    model's overlay, which may override syscalls on purpose."""
    fast = getattr(sys, "observe_state", None)
    if fast is not None:
        result: Observation = fast()
        return result
    if type(sys) is Overlay:
        return observe_model(sys)
    return walk(sys)
