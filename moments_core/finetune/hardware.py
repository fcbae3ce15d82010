"""Where training runs (GPU in bf16 when torch sees one, else CPU) and what it cost."""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Hardware:
    device: str  # "cuda" | "cpu"
    bf16: bool
    gpu_name: str
    gpu_count: int
    cpu_count: int
    torch_threads: int
    torch_version: str
    platform: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect(device: str = "auto", threads: int | None = None) -> Hardware:
    """The device to train on. ``threads`` caps torch's CPU threads (the CPU is often
    shared with the dashboard and other jobs; torch would otherwise take every core)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    bf16 = bool(cuda and torch.cuda.is_bf16_supported())
    return Hardware(
        device="cuda" if cuda else "cpu",
        bf16=bf16,
        gpu_name=torch.cuda.get_device_name(0) if cuda else "",
        gpu_count=torch.cuda.device_count() if cuda else 0,
        cpu_count=os.cpu_count() or 1,
        torch_threads=torch.get_num_threads(),
        torch_version=str(torch.__version__),
        platform=platform.platform(),
    )


def peak_memory_mb(device: str) -> dict[str, float]:
    """Peak resident memory of this process, and peak GPU memory when training on one."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    rss_mb = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    out = {"process_rss_mb": round(rss_mb, 1)}
    if device == "cuda":
        import torch

        out["gpu_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out
