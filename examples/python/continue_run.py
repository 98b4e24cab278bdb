#!/usr/bin/python3
"""Continues in Python the fine-tuning run that TorchScriptFineTuneExample saved from Java.

    /usr/bin/python3 examples/python/continue_run.py [--dir target/torchscript-example] [--steps 40]

Loads <dir>/model.pt (JitModule.save) with torch.jit.load and <dir>/optimizer.pt (savePythonStateDict) with
torch.load into the published binding's optimizer, torch_opt_list.NadamWCosineDecay, if `opt_list` is installed,
else into scripts/python/optlist_torch.py's TorchPortNAdamW (an independent implementation of it). The
hyperparameters, the training length and the parameter groups come from the file; the run resumes at the step
the file records. Step k trains on the batch of data.py that the Java example used at step k. Prints one line per
step and, last, a JSON line {"start": k0, "losses": [...]} (the loss of step k is computed before its update).
With --save-model/--save-optim it writes the model and the optimizer back, for Java's loadPythonStateDict.
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "python"))
import data  # noqa: E402

try:
    from opt_list.torch_opt_list import NadamWCosineDecay as Optimizer  # the published binding
except ImportError:
    from optlist_torch import TorchPortNAdamW as Optimizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join("target", "torchscript-example"))
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--save-model", default=None)
    ap.add_argument("--save-optim", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch._C._set_graph_executor_optimize(False)   # as in Java: reloaded modules then compute as the original

    model = torch.jit.load(os.path.join(args.dir, "model.pt"))
    params = list(model.parameters())
    sd = torch.load(os.path.join(args.dir, "optimizer.pt"))
    # The file numbers the parameters 0..n-1 across its groups, as torch does, and holds no names: build the
    # groups as Java built them, either one group of model.parameters() or, for two, NamedParameters'
    # withoutDecayOnBiasesAndNorms rule (weights first, as groupBy orders groups by their first parameter).
    if len(sd["param_groups"]) == 1:
        groups = [params]
    else:
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (no_decay if name.rsplit(".", 1)[-1] == "bias" or p.dim() <= 1 else decay).append(p)
        groups = [g for g in (decay, no_decay) if g]
    sizes = [len(g["params"]) for g in sd["param_groups"]]
    if sizes != [len(g) for g in groups]:
        sys.exit(f"optimizer.pt has groups of {sizes} parameters; this script builds {[len(g) for g in groups]}")
    opt = Optimizer([{"params": g} for g in groups])
    opt.load_state_dict(sd)                        # hyperparameters, training_steps and moments from the file
    steps = {s["step"] for s in sd["state"].values()}
    if len(steps) != 1:
        sys.exit(f"the parameters' step counts differ: {sorted(steps)}")
    start = steps.pop()
    print(f"resumed at step {start} of {sd['param_groups'][0]['training_steps']} with {Optimizer.__name__}, "
          f"{len(groups)} group(s)")

    inputs, targets = data.dataset()
    losses = []
    for k in range(start, start + args.steps):
        x, y = data.batch(inputs, targets, k)
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        print(f"step {k:3d}  loss {loss.item():.12f}")
    print(json.dumps({"start": start, "losses": losses}))
    if args.save_model:
        torch.jit.save(model, args.save_model)
    if args.save_optim:
        torch.save(opt.state_dict(), args.save_optim)


if __name__ == "__main__":
    main()
