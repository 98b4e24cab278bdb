#!/usr/bin/python3
"""Writes src/test/resources/hostile-files/: files from elsewhere that the loaders must refuse without running them.

Run from the repository root with Debian's torch 1.13:

    /usr/bin/python3 scripts/python/make_hostile_fixtures.py [--out DIR]

setstate_loop.pt    torch.jit.save of a module whose __setstate__ prints and then loops forever: LibTorch's own
                    reader runs it on load (the Java test shows the loader never does).
legacy_format.pt    torch.save of an optimizer-shaped dict in the legacy (pre-1.6, non-zip) format.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchscript_save import save_without_debug_records  # noqa: E402


class SetStateLoop(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(3))

    @torch.jit.export
    def __getstate__(self):
        return (self.weight, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, bool]):
        print("__setstate__ from the file ran")
        self.weight = state[0]
        self.training = state[1]
        while True:
            pass

    def forward(self, x):
        return x * self.weight


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="src/test/resources/hostile-files")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    save_without_debug_records(torch.jit.script(SetStateLoop()), os.path.join(out, "setstate_loop.pt"))
    state = {"state": {}, "param_groups": [{"lr": 0.001, "params": [0]}]}
    torch.save(state, os.path.join(out, "legacy_format.pt"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
