"""The gate for fuse_impl: ovlfuse agrees with the model in every supported config, in exact
mode and in the caching mode it mounts with by default (where a stale answer is a
divergence), including the kernel's view of the layers it wrote (checked after each
example)."""

from __future__ import annotations

import os

import pytest

from difftest.gate import run_gate
from difftest.session import SUPPORTED
from difftest.targets import unsupported_config

pytestmark = pytest.mark.privileged

FUSE_GATE_EXAMPLES = int(os.environ.get("DIFFTEST_FUSE_GATE_EXAMPLES", "60"))
FUSE_CONFIGS = [c for c in SUPPORTED if unsupported_config("fuse", c) is None]


def test_ovlfuse_refuses_nfs_export_rather_than_pretending() -> None:
    from fuse_impl.options import parse_options

    with pytest.raises(Exception, match="nfs_export"):
        parse_options("lowerdir=/a,upperdir=/b,workdir=/c,nfs_export=on")


@pytest.mark.parametrize("target", ["fuse", "fuse-cached"])
@pytest.mark.parametrize("config", FUSE_CONFIGS)
def test_ovlfuse_agrees_with_model(config: str, target: str) -> None:
    result = run_gate(config, [target], examples=FUSE_GATE_EXAMPLES)
    assert result.error is None, f"the tester itself failed: {result.error!r}"
    assert result.failure is None, (
        result.failure.divergence.summary() if result.failure and result.failure.divergence
        else "divergence"
    )


@pytest.mark.parametrize("config", ["default", "redirect_dir=on"])
def test_ovlfuse_and_kernel_read_each_others_layers(config: str) -> None:
    """Interchange: every remount switches between ovlfuse and the kernel's overlayfs."""
    result = run_gate(config, ["fuse+interchange"], examples=FUSE_GATE_EXAMPLES // 2, seed=3)
    assert result.failure is None, (
        result.failure.divergence.summary() if result.failure and result.failure.divergence
        else "divergence"
    )
