"""GPU check: a `gpus=1` step trains a small PyTorch model on CUDA, on LocalRunner then RayRunner.

    python benchmarks/gpu_check.py            # needs an NVIDIA GPU and a CUDA build of torch

From inside the step it reports `torch.cuda.is_available()`, the device name and the training
loss: first with LocalRunner (the step gets a worker process of its own with
CUDA_VISIBLE_DEVICES set), then with RayRunner on a local Ray instance this script starts (Ray
assigns the GPU). Exits 0 when both halves trained on CUDA. On a machine without a GPU each half
fails at once with the runner's ResourceUnavailableError (no hang), and the script exits 1.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on the loopback interface

import loopline
from loopline import LocalRunner, ResourceRequirements, Runner
from loopline.errors import PipelineRunError


@dataclasses.dataclass
class GpuReport:
    runner: str
    cuda_available: bool
    device_name: str
    cuda_visible_devices: str
    final_loss: float
    train_seconds: float


@loopline.func(resources=ResourceRequirements(gpus=1), timeout_mins=10)
def train_on_gpu(runner: str, steps: int) -> GpuReport:
    """A 3-layer MLP fitted to a random regression on the GPU this step was given."""
    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    if not torch.cuda.is_available():
        return GpuReport(runner, False, "", visible, float("nan"), 0.0)
    device = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.randn(4096, 64, device=device)
    y = x @ torch.randn(64, 1, device=device) + 0.1 * torch.randn(4096, 1, device=device)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 1),
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    print(f"trained {steps} steps on {torch.cuda.get_device_name(0)} in {elapsed:.2f} s")
    return GpuReport(runner, True, torch.cuda.get_device_name(0), visible, float(loss.item()), elapsed)


def describe_machine() -> None:
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA build: {torch.version.cuda})")
    if torch.version.cuda is None:
        print("  note: this torch is a CPU-only build; install a CUDA build to use the GPU")
    smi = shutil.which("nvidia-smi")
    listing = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout.strip() if smi else ""
    print(f"nvidia-smi -L: {listing or 'no NVIDIA GPU found (nvidia-smi missing or silent)'}")


def check(label: str, runner: Runner, steps: int) -> bool:
    print(f"\n== {label}")
    start = time.perf_counter()
    try:
        report = runner.run(train_on_gpu(label, steps))
    except PipelineRunError as error:
        print(f"FAILED after {time.perf_counter() - start:.1f} s: {error}")
        print(f"  cause: {type(error.__cause__).__name__}: {error.__cause__}")
        return False
    for field in dataclasses.fields(report):
        print(f"  {field.name}: {getattr(report, field.name)}")
    if not report.cuda_available:
        print("FAILED: the step ran, but torch saw no CUDA device in it")
    return report.cuda_available


def main() -> int:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    describe_machine()
    home = tempfile.mkdtemp(prefix="loopline-gpu-check-")
    local_ok = check("LocalRunner", LocalRunner(home=home, echo=False), steps)

    import ray

    from loopline import RayRunner

    ray.init(include_dashboard=False)  # detects the GPUs of this machine
    try:
        print(f"\nRay {ray.__version__}: cluster resources {ray.cluster_resources()}")
        ray_ok = check("RayRunner", RayRunner(home=home, echo=False), steps)
    finally:
        ray.shutdown()
    print(f"\nresult: LocalRunner {'ok' if local_ok else 'FAILED'}, RayRunner {'ok' if ray_ok else 'FAILED'}")
    return 0 if local_ok and ray_ok else 1


if __name__ == "__main__":
    sys.exit(main())
