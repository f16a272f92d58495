"""The gate: the model agrees with this kernel's overlayfs in every supported config."""

from __future__ import annotations

import pytest

from difftest.gate import GATE_EXAMPLES, run_gate
from difftest.session import SUPPORTED

pytestmark = pytest.mark.privileged


@pytest.mark.parametrize("config", SUPPORTED)
def test_model_agrees_with_kernel(config: str) -> None:
    result = run_gate(config, ["kernel"])
    assert result.error is None, f"the tester itself failed: {result.error!r}"
    assert result.failure is None, (
        result.failure.divergence.summary() if result.failure and result.failure.divergence
        else "divergence"
    )
    assert result.session.examples >= GATE_EXAMPLES
