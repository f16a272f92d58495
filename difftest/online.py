"""Online changes in the tester: what a result may be after a layer changed underneath the
mount (:mod:`model.online` states the rule), and how the results that differ from the
model's are counted for a run's summary (``Session.online_outcomes``)."""

from __future__ import annotations

import errno

from difftest import ops
from difftest.outcome import CRASHED, DAEMON_GONE, Outcome
from difftest.signature import op_family
from model.online import allowed


def allowed_outcome(actual: Outcome) -> bool:
    """Any success, or a failure whose errnos are all in ``model.online.ALLOWED_ERRNOS``; never a
    crash of the tester's call or a FUSE daemon gone."""
    if not actual.is_error:
        return True
    if actual.errnos == CRASHED or actual.errnos & DAEMON_GONE:
        return False
    return allowed(actual.errnos)


def _shown(outcome: Outcome) -> str:
    if not outcome.is_error:
        return "ok"
    return "|".join(sorted(errno.errorcode.get(e, str(e)) for e in outcome.errnos))


def outcome_key(target: str, op: ops.Op, expected: Outcome, actual: Outcome) -> str:
    """``target: family: model's -> target's`` (success as ``ok``)."""
    return f"{target}: {op_family(op)}: {_shown(expected)} -> {_shown(actual)}"
