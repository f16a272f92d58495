"""Settings profiles: the budget of each role a run plays, and Hypothesis's settings for it.

Each role (``dev``, ``ci``, ``nightly``, ``campaign``) is a difftest budget (seconds or
examples per config, steps per example, time cap of each shrink) and a Hypothesis settings
profile registered as ``difftest-<role>``, from which every chunk of examples of a run takes
its settings.  Runs that share saved examples must agree on the step cap (an example saved
with more steps than a run allows would be cut short on replay): ``nightly`` and
``campaign`` use the same one, so their workers share one database keyspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Verbosity, settings

SHRINK_S = 60.0  # seconds for each shrink by Hypothesis, and again for the replay pass


@dataclass(frozen=True)
class Profile:
    """The default budget of a role; the command line overrides each part."""

    name: str
    role: str
    seconds: float | None
    examples: int | None
    steps: int
    shrink_seconds: float = SHRINK_S
    # without --config: every preset (the mount-option matrix), not only the default set
    whole_matrix: bool = False

    @property
    def hypothesis_name(self) -> str:
        return f"difftest-{self.name}"

    def budget_text(self) -> str:
        if self.examples is not None:
            return f"{self.examples} examples per config"
        assert self.seconds is not None
        hours = self.seconds / 3600
        return f"{hours:g} h" if hours >= 1 else f"{self.seconds:g} s"


# Up to 20 steps per example by default: against 12, a minute of -j2 reached more deep
# states on the kernel (broken hard links 201 -> 321, EXDEV 768 -> 975, a handle that sees a
# copy-up 0 -> 13 examples) and on ovlfuse (rmdir of a whited-out dir 73 -> 101, rename
# over a whiteout 93 -> 118), though fewer examples.  CI keeps 12: its budgets are examples.
PROFILES = {
    p.name: p
    for p in (
        Profile("dev", "a developer's run (the default)", seconds=60.0, examples=None, steps=20),
        Profile("ci", "a gate on every push: a fixed number of examples", seconds=None,
                examples=300, steps=12),
        Profile("nightly", "one nightly job, or one CI matrix job of a campaign",
                seconds=3600.0, examples=None, steps=25, shrink_seconds=120.0,
                whole_matrix=True),
        Profile("campaign", "one long-running worker of a campaign across machines",
                seconds=8 * 3600.0, examples=None, steps=25, shrink_seconds=300.0,
                whole_matrix=True),
    )
}

CHUNK = 100  # examples per Hypothesis run; a time budget is met chunk by chunk


def _register() -> None:
    """Register each role's Hypothesis profile: what difftest needs of every run (no
    deadline or health checks: an example mounts filesystems; every distinct bug shrunk on
    its own; Hypothesis's own reports off, difftest writes its own; random generation even
    where the environment says CI, whose Hypothesis profile derandomizes: every chunk of an
    unseeded run would then start from the same random state, and 200 examples gave 75
    distinct ones instead of 162) and the role's step cap."""
    for p in PROFILES.values():
        settings.register_profile(
            p.hypothesis_name,
            max_examples=CHUNK,
            stateful_step_count=p.steps,
            deadline=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            print_blob=False,
            verbosity=Verbosity.quiet,
        )


_register()


def hypothesis_profile(name: str) -> settings:
    """The Hypothesis settings of the role ``name``."""
    return settings.get_profile(PROFILES[name].hypothesis_name)
