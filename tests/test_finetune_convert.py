"""The one-time GGUF -> checkpoint conversion of SmolLM2: its progress (stages, then
megabytes written up to the checkpoint's size) and a checkpoint that loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from moments_core.finetune.base_model import (
    ConversionProgress,
    convert_gguf,
    is_checkpoint,
    smollm2_gguf,
)

pytestmark = pytest.mark.slow


def test_conversion_reports_stages_and_megabytes(tmp_path: Path) -> None:
    seen: list[ConversionProgress] = []
    out = convert_gguf(smollm2_gguf(), tmp_path / "smollm2", seen.append, poll_s=0.1)
    assert is_checkpoint(out)
    stages = list(dict.fromkeys(p.stage for p in seen))
    assert stages[0] == "starting the converter" and stages[-1] == "done"
    assert "dequantizing the weights to fp32" in stages
    assert "writing the checkpoint" in stages
    last = seen[-1]
    assert last.mb_expected is not None and last.mb_expected > 400  # 135M params, fp32
    written = (out / "model.safetensors").stat().st_size / 1e6
    assert abs(written - last.mb_expected) / last.mb_expected < 0.02
    assert [p.name for p in tmp_path.iterdir()] == ["smollm2"]  # no temporary folder left
