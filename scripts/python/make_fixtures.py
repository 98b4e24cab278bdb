#!/usr/bin/python3
"""Writes src/test/resources/python-fixtures/: runs handed over between the PyTorch binding and Java.

Run from the repository root with Debian's torch (see the fixtures' README.md for the exact command):

    /usr/bin/python3 scripts/python/make_fixtures.py [--out DIR] [--list PATH] [--check-only]

For each chosen list entry it trains SmallNet (float64) for STEPS steps with TorchPortNAdamW (the published
binding's update, see optlist_torch.py) planned for TRAINING_STEPS steps, and writes the loss trajectory, the
model and optimizer state after HANDOVER steps, and the final parameters. Before writing anything it
checks the optimizer against a scalar NAdamW written from the list's README, and checks that reloading the
handover files and continuing gives the uninterrupted run bit for bit.
"""

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import optlist_torch as ot  # noqa: E402
from torchscript_save import save_without_debug_records  # noqa: E402

SEED = 20200206
TRAINING_STEPS = 60
STEPS = 30
HANDOVER = 10
NUM_BATCHES = 6
BATCH = 16
CLASSES = 3


def pick_entries(list_path):
    """Indices chosen by their fields, read from the list: 0, 1, the first Nesterov + l2, the first plain l2."""
    with open(list_path) as f:
        entries = json.load(f)
    nesterov_l2 = next(i for i, e in enumerate(entries) if e["use_nesterov"] and e["l2_weight_decay"] > 0
                       and e["warmup_fraction"] > 0)
    plain_l2 = next(i for i, e in enumerate(entries) if not e["use_nesterov"] and e["l2_weight_decay"] > 0
                    and e["warmup_fraction"] == 0)
    return [0, 1, nesterov_l2, plain_l2]


def make_batches():
    g = torch.Generator().manual_seed(SEED + 1)
    inputs = torch.randn(NUM_BATCHES, BATCH, 1, 8, 8, generator=g, dtype=torch.float64)
    teacher = torch.randn(64, CLASSES, generator=g, dtype=torch.float64)
    targets = (inputs.reshape(NUM_BATCHES, BATCH, 64) @ teacher).argmax(-1).to(torch.int64)
    return inputs, targets


def make_model():
    torch.manual_seed(SEED)
    net = ot.SmallNet().to(torch.float64)
    # GroupNorm starts at weight 1, bias 0; perturb them so that a mix-up of the two shows in the fixtures.
    with torch.no_grad():
        net.norm.weight.add_(0.1 * torch.randn_like(net.norm.weight))
        net.norm.bias.add_(0.1 * torch.randn_like(net.norm.bias))
    return torch.jit.script(net)


def script_copy(module):
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    buf.seek(0)
    return torch.jit.load(buf)


def train(model, opt, inputs, targets, start, stop, on_step=None):
    losses = []
    for k in range(start, stop):
        if on_step is not None:
            on_step(k)
        b = k % NUM_BATCHES
        opt.zero_grad(set_to_none=True)
        loss = model.loss(inputs[b], targets[b])
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return losses


# ---------------------------------------------------------------------------------------------------------------
# Self-check against a scalar NAdamW written from ../shared/opt_list/README.md (not from the tensor code).

def r32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def readme_lr(k, T, e):
    """The README's schedule, TORCH_PORT column (w = T * max(warmup, constant)), in double."""
    s = min(k, T)
    c = T * e["constant_fraction"]
    lr0 = e["learning_rate"]
    lr_min = e["min_learning_rate_mult"] * lr0
    w = T * max(e["warmup_fraction"], e["constant_fraction"])
    if e["warmup_fraction"] > 0 and s < w:
        return s / w * lr0
    return (lr0 - lr_min) * (math.cos(math.pi * (max(s, c) - c) / (T - c)) / 2 + 0.5) + lr_min


def scalar_step(p, grad, m, v, t, lr, e, float32_like_binding):
    """One README update of one scalar. With float32_like_binding, lr_t and lr_t * adamw_wd are rounded to
    float32 the way the binding's 0-dim float32 tensors round them; otherwise everything is double."""
    b1, b2 = e["beta1"], e["beta2"]
    g = grad - e["l2_weight_decay"] * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    if float32_like_binding:
        lr_t = r32(r32(r32(lr) * r32(math.sqrt(1 - b2 ** t))) / r32(1 - b1 ** t))
        decay = r32(lr_t * r32(e["adamw_weight_decay"]))
    else:
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        decay = lr_t * e["adamw_weight_decay"]
    u = b1 * m + (1 - b1) * g if e["use_nesterov"] else m
    p = p - (lr_t * u / (math.sqrt(v) + e["epsilon"]) + decay * p)
    return p, m, v


def self_check(indices, list_path):
    names = os.path.join(os.path.dirname(list_path), "names.txt")
    worst = {"schedule": 0.0, "update_f32": 0.0, "update_f64": 0.0}
    T = TRAINING_STEPS
    for idx in indices:
        _, e = ot.load_entry(idx, list_path, names)
        # Schedule: float32 binding vs the README in double, over and past the planned steps.
        for k in range(T + 5):
            got = ot.torch_port_lr(k, T, e["learning_rate"], e["min_learning_rate_mult"], e["constant_fraction"],
                                   e["warmup_fraction"])
            assert got.dtype == torch.float32 and got.dim() == 0
            err = abs(got.item() - readme_lr(k, T, e)) / e["learning_rate"]
            assert err < 1e-6, (idx, k, got.item(), readme_lr(k, T, e))
            worst["schedule"] = max(worst["schedule"], err)
        # Update: 5 steps on a 7-element tensor with fixed gradients, against the scalar update.
        g = torch.Generator().manual_seed(idx)
        p = torch.randn(7, generator=g, dtype=torch.float64)
        grads = [torch.randn(7, generator=g, dtype=torch.float64) * 10 ** (j - 2) for j in range(5)]
        param = p.clone().requires_grad_(True)
        opt = ot.TorchPortNAdamW([param], training_steps=T, **e)
        ref32 = [(x, 0.0, 0.0) for x in p.tolist()]
        ref64 = list(ref32)
        for k, grad in enumerate(grads):
            lr = scheduled_lr(opt, k)
            param.grad = grad.clone()
            opt.step()
            ref32 = [scalar_step(x, gr, m, v, k + 1, lr, e, True) for (x, m, v), gr in zip(ref32, grad.tolist())]
            ref64 = [scalar_step(x, gr, m, v, k + 1, readme_lr(k, T, e), e, False)
                     for (x, m, v), gr in zip(ref64, grad.tolist())]
            st = opt.state[param]
            assert st["step"] == k + 1 and type(st["step"]) is int
            for j, x in enumerate(param.detach().tolist()):
                r, m, v = ref32[j]
                scale = abs(r) + abs(p[j].item())
                err32 = abs(x - r) / scale
                assert err32 < 1e-13, (idx, k, j, x, r)
                assert abs(st["exp_avg"][j].item() - m) <= 1e-13 * (abs(m) + 1e-300)
                assert abs(st["exp_avg_sq"][j].item() - v) <= 1e-13 * (abs(v) + 1e-300)
                err64 = abs(x - ref64[j][0]) / scale
                assert err64 < 1e-6, (idx, k, j, x, ref64[j][0])
                worst["update_f32"] = max(worst["update_f32"], err32)
                worst["update_f64"] = max(worst["update_f64"], err64)
    return worst


def scheduled_lr(opt, k):
    return opt.lr_at(opt.param_groups[0], k).item()


# ---------------------------------------------------------------------------------------------------------------

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes a module's constants in set order, which depends on the string hash seed; fix it
        # so that the .pt files come out byte-identical on every run.
        env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--out", default=os.path.join(root, "src", "test", "resources", "python-fixtures"))
    ap.add_argument("--list", default=ot.DEFAULT_LIST, help="the published opt_list.json (names.txt beside it)")
    ap.add_argument("--check-only", action="store_true", help="run the self-check, write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    # The graph executor would swap in its own fused/autodiff graphs after a few runs, so a module loaded at
    # the handover would take different roundings than the one trained from step 0; run the graph as written.
    torch._C._set_graph_executor_optimize(False)
    names_path = os.path.join(os.path.dirname(args.list), "names.txt")

    indices = pick_entries(args.list)
    worst = self_check(indices, args.list)
    print("self-check against the README's scalar NAdamW passed:", worst)
    if args.check_only:
        return

    tmp = args.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    inputs, targets = make_batches()
    torch.save({"inputs": inputs, "targets": targets, "num_batches": NUM_BATCHES,
                "batch_of_step": "k % num_batches"}, os.path.join(tmp, "batches.pt"))
    initial = make_model()
    save_without_debug_records(initial, os.path.join(tmp, "model_init.pt"))
    param_names = [n for n, _ in initial.named_parameters()]

    manifest = {"torch_version": torch.__version__, "seed": SEED, "training_steps": TRAINING_STEPS,
                "steps": STEPS, "handover": HANDOVER, "num_batches": NUM_BATCHES,
                "list_sha256": sha256(args.list), "param_names": param_names,
                "param_shapes": [list(p.shape) for p in initial.parameters()], "entries": []}
    for idx in indices:
        name, entry = ot.load_entry(idx, args.list, names_path)
        model = script_copy(initial)
        opt = ot.TorchPortNAdamW(list(model.parameters()), training_steps=TRAINING_STEPS, **entry)
        lrs = [scheduled_lr(opt, k) for k in range(STEPS)]
        d = os.path.join(tmp, f"entry_{idx}")
        os.makedirs(d)

        def handover(k):
            if k == HANDOVER:
                save_without_debug_records(model, os.path.join(d, f"model_k{HANDOVER}.pt"))
                torch.save(opt.state_dict(), os.path.join(d, f"optim_k{HANDOVER}.pt"))

        losses = train(model, opt, inputs, targets, 0, STEPS, handover)
        final = [p.detach().clone() for p in model.parameters()]
        final_state = opt.state_dict()

        # Continue from the files alone, as a consumer would: must equal the uninterrupted run bit for bit.
        model2 = torch.jit.load(os.path.join(d, f"model_k{HANDOVER}.pt"))
        opt2 = ot.TorchPortNAdamW(list(model2.parameters()))
        loaded = torch.load(os.path.join(d, f"optim_k{HANDOVER}.pt"))
        problems = ot.check_state_dict_layout(loaded, list(model2.parameters()))
        assert not problems, problems
        opt2.load_state_dict(loaded)
        resumed = train(model2, opt2, inputs, targets, HANDOVER, STEPS)
        assert resumed == losses[HANDOVER:], (idx, resumed, losses[HANDOVER:])
        assert all(torch.equal(a, b) for a, b in zip(final, model2.parameters())), idx
        assert all(math.isfinite(x) for x in losses), (idx, losses)

        torch.save({"index": idx, "name": name, "config": entry, "training_steps": TRAINING_STEPS,
                    "steps": STEPS, "handover": HANDOVER, "losses": losses, "lrs": lrs,
                    "param_names": param_names, "final_params": final,
                    "final_steps": [final_state["state"][i]["step"] for i in range(len(final))]},
                   os.path.join(d, "expected.pt"))
        manifest["entries"].append({"index": idx, "name": name, "config": entry, "dir": f"entry_{idx}",
                                    "losses": losses, "lrs": lrs})
        print(f"entry {idx} ({name}): loss {losses[0]:.6f} -> {losses[-1]:.6f}")

    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    readme = os.path.join(args.out, "README.md")   # hand-written; kept across regenerations
    if os.path.exists(readme):
        shutil.copy2(readme, os.path.join(tmp, "README.md"))
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(tmp, args.out)
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, fs in os.walk(args.out) for n in fs)
    print(f"wrote {args.out} ({total} bytes)")


if __name__ == "__main__":
    main()
