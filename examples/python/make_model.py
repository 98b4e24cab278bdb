#!/usr/bin/python3
"""Writes examples/python/model.pt: the small TorchScript model that TorchScriptFineTuneExample fine-tunes.

    /usr/bin/python3 examples/python/make_model.py          # Debian python3-torch 1.13 (any torch >= 1.10 works)

The model stands for "your PyTorch model": an MLP 8 -> 32 -> LayerNorm -> tanh -> 1 in float64, pretrained for
200 Adam steps on a base task (y = x0 * x1 + 0.5 * x2), saved with torch.jit.save less the `*.debug_pkl` records
(they name the generating machine's paths; see scripts/python/torchscript_save.py). It exports `loss(x, y)` (mean
squared error) so that Java and Python compute the very same loss. The fine-tuning task (data.py) adds terms to
the target. The script re-executes itself with PYTHONHASHSEED=0 OMP_NUM_THREADS=1 so that its output is the same
file from run to run on one machine.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("OMP_NUM_THREADS") != "1":
    os.environ.update(PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "python"))
import data  # noqa: E402
from torchscript_save import save_without_debug_records  # noqa: E402


class FineTuneNet(torch.nn.Module):
    """fc1 (Linear 8 -> 32) -> norm (LayerNorm 32) -> tanh -> fc2 (Linear 32 -> 1)."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(data.FEATURES, 32)
        self.norm = torch.nn.LayerNorm(32)
        self.fc2 = torch.nn.Linear(32, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.norm(self.fc1(x))))

    @torch.jit.export
    def loss(self, x, y):
        return torch.nn.functional.mse_loss(self.forward(x), y)


def main():
    torch.set_num_threads(1)
    torch._C._set_graph_executor_optimize(False)
    torch.manual_seed(20240216)
    model = FineTuneNet().double()
    inputs, _ = data.dataset()
    base = data.base_target(inputs)
    pretrain = torch.optim.Adam(model.parameters(), lr=1e-2)
    for k in range(200):
        x, y = data.batch(inputs, base, k)
        pretrain.zero_grad()
        model.loss(x, y).backward()
        pretrain.step()
    out = os.path.join(HERE, "model.pt")
    save_without_debug_records(torch.jit.script(model), out)
    saved, reloaded = model.state_dict(), torch.jit.load(out).state_dict()
    assert list(saved) == list(reloaded) and all(torch.equal(saved[k], reloaded[k]) for k in saved)
    print(f"wrote {out} ({os.path.getsize(out)} bytes); parameters:")
    for name, p in model.named_parameters():
        print(f"  {name} {list(p.shape)}")


if __name__ == "__main__":
    main()
