#!/usr/bin/python3
"""Writes src/test/resources/tied-model/: a TorchScript model with tied weights, and how Python trains it.

Run from the repository root with Debian's torch (python3-torch 1.13):

    /usr/bin/python3 scripts/python/make_tied_model.py [--out DIR]

TiedNet is the classic tied language model: an embedding `enc` whose table is also the output layer's weight
(`dec.weight = enc.weight`), with a Linear `mid` between them; float64. Python's `named_parameters()` lists the
shared tensor once, under its first name (`enc.weight`), so an optimizer built from `model.parameters()` updates it
once per step, with the gradient autograd accumulated from both uses. The script trains it that way for STEPS steps
with TorchPortNAdamW (the published binding's update, see optlist_torch.py), list entry ENTRY planned for
TRAINING_STEPS steps, and writes the losses. It checks that the tie survives `torch.jit.script`, save and load.
"""

import argparse
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optlist_torch as ot  # noqa: E402
from torchscript_save import save_without_debug_records  # noqa: E402

SEED = 20240519
VOCAB = 11
WIDTH = 6
BATCHES = 4
BATCH = 12
ENTRY = 0
TRAINING_STEPS = 40
STEPS = 20


class TiedNet(torch.nn.Module):
    """Embedding -> Linear -> tanh -> Linear whose weight is the embedding table; `loss` is exported."""

    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Embedding(VOCAB, WIDTH)
        self.mid = torch.nn.Linear(WIDTH, WIDTH)
        self.dec = torch.nn.Linear(WIDTH, VOCAB)
        self.dec.weight = self.enc.weight

    def forward(self, x):
        return self.dec(torch.tanh(self.mid(self.enc(x))))

    @torch.jit.export
    def loss(self, x, y):
        return torch.nn.functional.cross_entropy(self.forward(x), y)


def make_batches():
    g = torch.Generator().manual_seed(SEED + 1)
    inputs = torch.randint(0, VOCAB, (BATCHES, BATCH), generator=g, dtype=torch.int64)
    targets = (3 * inputs + 1) % VOCAB
    return inputs, targets


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # Fixed hash seed and one thread: the .pt files come out byte-identical on every run.
        env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "tied-model"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch._C._set_graph_executor_optimize(False)

    torch.manual_seed(SEED)
    net = TiedNet().to(torch.float64)
    assert net.enc.weight is net.dec.weight
    scripted = torch.jit.script(net)
    tmp = args.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    save_without_debug_records(scripted, os.path.join(tmp, "model_init.pt"))
    model = torch.jit.load(os.path.join(tmp, "model_init.pt"))
    assert model.enc.weight is model.dec.weight, "the tie did not survive save and load"
    param_names = [n for n, _ in model.named_parameters()]
    assert param_names == ["enc.weight", "mid.weight", "mid.bias", "dec.bias"], param_names

    _, entry = ot.load_entry(ENTRY)
    opt = ot.TorchPortNAdamW(model.parameters(), training_steps=TRAINING_STEPS, **entry)
    assert len(opt.param_groups[0]["params"]) == 4
    inputs, targets = make_batches()
    losses = []
    for k in range(STEPS):
        opt.zero_grad()
        loss = model.loss(inputs[k % BATCHES], targets[k % BATCHES])
        losses.append(loss.item())
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0], losses
    steps = [opt.state[p]["step"] for p in model.parameters()]
    assert steps == [STEPS] * 4, steps

    torch.save({"entry": ENTRY, "training_steps": TRAINING_STEPS, "steps": STEPS, "inputs": inputs,
                "targets": targets, "param_names": param_names, "losses": losses,
                "final_params": [p.detach().clone() for p in model.parameters()]},
               os.path.join(tmp, "expected.pt"))
    readme = os.path.join(args.out, "README.md")   # hand-written; kept across regenerations
    if os.path.exists(readme):
        shutil.copy2(readme, os.path.join(tmp, "README.md"))
    shutil.rmtree(args.out, ignore_errors=True)
    os.rename(tmp, args.out)
    print(f"wrote {args.out}: loss {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
