#!/usr/bin/python3
"""Continues, with the published PyTorch binding's update, a run that Java (or anyone) handed over.

    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/python/continue_from_java.py \\
        --model model.pt --optim optim.pt [--batches batches.pt] [--steps 20] [--out losses.json] \\
        [--expected src/test/resources/python-fixtures/entry_0/expected.pt] [--save-model M --save-optim O]

--model is a TorchScript module with an exported `loss(x, y)` method (like the fixtures' SmallNet); --optim is
what `torch.save(opt.state_dict())` of torch_opt_list.NadamWCosineDecay writes (layout in
src/test/resources/python-fixtures/README.md). The hyperparameters come from the file's param_groups, the start
step from its per-parameter "step" (all must agree). Step k trains on batch k % num_batches of --batches.

Prints, and writes to --out, a JSON object {"start": k0, "losses": [...], "final_step": k1}; the loss of step k
is the one computed before that step's update. With --expected it also compares the losses with the
fixture's uninterrupted run and reports the largest relative difference (exit code 1 above --tolerance).
Exit code 2, before any training, if the state dict does not have the published layout; the problems are
listed on stderr.
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optlist_torch as ot  # noqa: E402

FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "test",
                                         "resources", "python-fixtures"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--optim", required=True)
    ap.add_argument("--batches", default=os.path.join(FIXTURES, "batches.pt"))
    ap.add_argument("--steps", type=int, default=None,
                    help="steps to run; default: up to the --expected run's length, else 20")
    ap.add_argument("--out", default=None)
    ap.add_argument("--expected", default=None)
    ap.add_argument("--tolerance", type=float, default=1e-9)
    ap.add_argument("--save-model", default=None)
    ap.add_argument("--save-optim", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch._C._set_graph_executor_optimize(False)   # the fixtures were made so; see make_fixtures.py

    model = torch.jit.load(args.model)
    params = list(model.parameters())
    sd = torch.load(args.optim)
    problems = ot.check_state_dict_layout(sd, params)
    steps_seen = {s["step"] for s in sd["state"].values()} if not problems else set()
    if not problems and len(steps_seen) != 1:
        problems.append(f"the parameters' step counts differ: {sorted(steps_seen)}")
    if problems:
        for p in problems:
            print("layout: " + p, file=sys.stderr)
        sys.exit(2)
    start = steps_seen.pop()
    opt = ot.TorchPortNAdamW(params)
    opt.load_state_dict(sd)

    batches = torch.load(args.batches)
    inputs, targets, nb = batches["inputs"], batches["targets"], batches["num_batches"]
    expected = torch.load(args.expected) if args.expected else None
    steps = args.steps
    if steps is None:
        steps = (expected["steps"] - start) if expected else 20
    losses = []
    for k in range(start, start + steps):
        opt.zero_grad(set_to_none=True)
        loss = model.loss(inputs[k % nb], targets[k % nb])
        loss.backward()
        losses.append(loss.item())
        opt.step()

    result = {"start": start, "losses": losses, "final_step": start + steps}
    code = 0
    if expected is not None:
        want = expected["losses"][start:start + steps]
        if len(want) != len(losses):
            print(f"--expected holds losses for steps < {len(expected['losses'])} only", file=sys.stderr)
            code = 1
        else:
            worst = max(abs(a - b) / abs(b) for a, b in zip(losses, want))
            result["max_rel_diff_vs_expected"] = worst
            result["bit_equal_to_expected"] = losses == want
            if worst > args.tolerance:
                code = 1
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.save_model:
        torch.jit.save(model, args.save_model)
    if args.save_optim:
        torch.save(opt.state_dict(), args.save_optim)
    sys.exit(code)


if __name__ == "__main__":
    main()
