"""Which GPUs this machine has, for runners that place GPU steps locally."""

from __future__ import annotations

import os
import shutil
import subprocess


def visible_gpu_ids() -> list[int]:
    """Indices of the NVIDIA GPUs this process may use (honours CUDA_VISIBLE_DEVICES)."""
    restricted = os.environ.get("CUDA_VISIBLE_DEVICES")
    found = _nvidia_smi_ids()
    if restricted is None:
        return found
    wanted = [part.strip() for part in restricted.split(",") if part.strip()]
    return [int(p) for p in wanted if p.isdigit() and int(p) in found] if found else []


def _nvidia_smi_ids() -> list[int]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(line) for line in out.split() if line.strip().isdigit()]
