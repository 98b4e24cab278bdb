"""The list's NAdamW as the published PyTorch binding runs it, written for the project's fixtures.

This is an independent implementation, written from the update in ../shared/opt_list/README.md (the
"PyTorch and JAX bindings" column, i.e. the project's TORCH_PORT variant) and from the state layout of
google-research `opt_list/opt_list/torch_opt_list.py` (class NadamWCosineDecay). It is meant to be
interchangeable with that class: same constructor keywords, same param_groups keys, same per-parameter
state, same arithmetic precision, so that `torch.save(opt.state_dict())` writes what the published binding
would write and a run can be continued by either.

What "same arithmetic precision" means, because it is easy to miss: the published binding evaluates the
learning-rate schedule with float32 0-dim tensors (every input is rounded to float32, every operation is
float32), and the bias-corrected step size lr_t and the product lr_t * adamw_weight_decay stay float32 0-dim
tensors. Only when such a 0-dim tensor meets the float64 moments/parameters does the arithmetic become
float64. An implementation that computes the schedule in double agrees with it to about 1e-7 relative,
not bit for bit.

Requires torch (tested with Debian's python3-torch 1.13) and nothing else.
"""

import json
import math
import os

import torch
from torch.optim.optimizer import Optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository's folder sits next to shared/ (the pom reads ../shared/opt_list); so scripts/python/../../../shared.
DEFAULT_LIST = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "opt_list", "opt_list.json"))
DEFAULT_NAMES = os.path.join(os.path.dirname(DEFAULT_LIST), "names.txt")

# Keys of one list entry, as published (the constructor keywords of the binding).
LIST_KEYS = ("learning_rate", "beta1", "beta2", "epsilon", "use_nesterov", "adamw_weight_decay",
             "l2_weight_decay", "warmup_fraction", "min_learning_rate_mult", "constant_fraction")

# param_groups keys of the published binding, in the order its defaults dict lists them; "params" is
# appended last by Optimizer.state_dict().
GROUP_KEYS = ("lr", "beta1", "beta2", "epsilon", "adamw_weight_decay", "l2_weight_decay", "use_nesterov",
              "constant_fraction", "warmup_fraction", "min_learning_rate_mult", "training_steps",
              "use_bias_correction")
STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")


def load_entry(idx, list_path=DEFAULT_LIST, names_path=DEFAULT_NAMES):
    """Entry idx of the published list as (name, dict of the ten published keys)."""
    with open(list_path) as f:
        entries = json.load(f)
    if not 0 <= idx < len(entries):
        raise ValueError(f"index {idx} outside the list (size {len(entries)})")
    with open(names_path) as f:
        names = [line.strip() for line in f if line.strip()]
    entry = entries[idx]
    if set(entry) != set(LIST_KEYS):
        raise ValueError(f"entry {idx} has keys {sorted(entry)}, expected {sorted(LIST_KEYS)}")
    return names[idx], {k: entry[k] for k in LIST_KEYS}


def _f32(x):
    return torch.as_tensor(x, dtype=torch.float32)


def torch_port_lr(step, training_steps, lr0, min_mult, constant_fraction, warmup_fraction):
    """Learning rate at 0-based step `step`, as a float32 0-dim tensor, exactly as the binding computes it.

    Formula (README of the list, TORCH_PORT column): s = min(step, T), c = T * constant_fraction,
    w = T * max(warmup_fraction, constant_fraction); if warmup_fraction > 0 and s < w: s / w * lr0, else
    (lr0 - lr_min) * (cos(pi * (max(s, c) - c) / (T - c)) / 2 + 0.5) + lr_min.
    The operations below are ordered as the binding orders them, so that the float32 roundings agree.
    """
    t = _f32(training_steps)
    s = torch.minimum(_f32(step), t)
    c = t * constant_fraction                   # float32 tensor times a double: rounded to float32
    x = torch.maximum(s, c)
    lr_min = min_mult * lr0                     # a Python double
    decay = (lr0 - lr_min) * (torch.cos((x - c) * math.pi / (t - c)) / 2.0 + 0.5) + lr_min
    if warmup_fraction:
        w = t * max(warmup_fraction, constant_fraction)
        in_warmup = (w > s).to(torch.float32)
        warm = (s / w) * lr0
        # A blend, not a select, as published: it only differs from a select when `decay` is not finite.
        return decay * (1.0 - in_warmup) + in_warmup * warm
    return decay * 1.0 + 0.0


class TorchPortNAdamW(Optimizer):
    """NAdamW with cosine decay and warm-up; drop-in for the published torch_opt_list.NadamWCosineDecay.

    Constructor keywords and defaults are the published ones. State per parameter: "step" (a Python int,
    the number of updates done), "exp_avg" and "exp_avg_sq" (tensors like the parameter).
    """

    def __init__(self, params, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 adamw_weight_decay=0.0, l2_weight_decay=0.0, use_bias_correction=True, use_nesterov=False,
                 constant_fraction=1.0, warmup_fraction=0.0, min_learning_rate_mult=1.0, training_steps=10000):
        values = dict(lr=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                      adamw_weight_decay=adamw_weight_decay, l2_weight_decay=l2_weight_decay,
                      use_nesterov=use_nesterov, constant_fraction=constant_fraction,
                      warmup_fraction=warmup_fraction, min_learning_rate_mult=min_learning_rate_mult,
                      training_steps=training_steps, use_bias_correction=use_bias_correction)
        defaults = {k: values[k] for k in GROUP_KEYS}
        super().__init__(params, defaults)

    @staticmethod
    def lr_at(group, step):
        return torch_port_lr(step, group["training_steps"], group["lr"], group["min_learning_rate_mult"],
                             group["constant_fraction"], group["warmup_fraction"])

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["beta1"], group["beta2"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("sparse gradients are not supported")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                # The schedule is read at the step count before this update (k = t - 1).
                lr = self.lr_at(group, state["step"])
                g = p.grad - p * group["l2_weight_decay"]          # minus, as published
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                state["step"] += 1
                t = state["step"]
                if group["use_bias_correction"]:
                    lr_t = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)   # stays a float32 0-dim tensor
                else:
                    lr_t = lr
                u = b1 * m + (1.0 - b1) * g if group["use_nesterov"] else m
                update = lr_t * u / (torch.sqrt(v) + group["epsilon"])
                update = update + lr_t * group["adamw_weight_decay"] * p
                p.add_(-update)
        return loss


def optimizer_for_idx(params, idx, training_steps, list_path=DEFAULT_LIST):
    """Like the published optimizer_for_idx: entry idx of the list with the given training_steps."""
    _, config = load_entry(idx, list_path, os.path.join(os.path.dirname(list_path), "names.txt"))
    return TorchPortNAdamW(params, training_steps=training_steps, **config)


def check_state_dict_layout(sd, params):
    """Problems (a list of strings, empty if none) of `sd` against the published binding's layout for `params`."""
    problems = []
    if not isinstance(sd, dict) or set(sd) != {"state", "param_groups"}:
        return [f"top level must be a dict with keys state, param_groups; got {type(sd).__name__} "
                f"{sorted(sd) if isinstance(sd, dict) else ''}"]
    groups = sd["param_groups"]
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        return [f"param_groups must be a list of one dict; got {groups!r:.200}"]
    group = groups[0]
    if set(group) != set(GROUP_KEYS) | {"params"}:
        problems.append(f"param_groups[0] keys {sorted(group)}, expected {sorted(set(GROUP_KEYS) | {'params'})}")
    types = {"use_nesterov": bool, "use_bias_correction": bool, "training_steps": int}
    for k in GROUP_KEYS:
        if k not in group:
            continue
        want = types.get(k, float)
        value = group[k]
        if type(value) is not want:
            problems.append(f"param_groups[0][{k!r}] is {type(value).__name__} {value!r}, expected {want.__name__}")
    n = len(params)
    if group.get("params") != list(range(n)) or not all(type(i) is int for i in group.get("params", [])):
        problems.append(f"param_groups[0]['params'] must be the ints 0..{n - 1}; got {group.get('params')!r:.200}")
    state = sd["state"]
    if not isinstance(state, dict):
        return problems + [f"state must be a dict; got {type(state).__name__}"]
    if set(state) != set(range(n)) or not all(type(i) is int for i in state):
        problems.append(f"state keys must be the ints 0..{n - 1}; got {sorted(state, key=repr)!r:.200}")
    for i, p in enumerate(params):
        s = state.get(i)
        if not isinstance(s, dict):
            continue
        if set(s) != set(STATE_KEYS):
            problems.append(f"state[{i}] keys {sorted(s)}, expected {sorted(STATE_KEYS)}")
            continue
        if type(s["step"]) is not int:
            problems.append(f"state[{i}]['step'] is {type(s['step']).__name__}, expected int")
        for k in ("exp_avg", "exp_avg_sq"):
            t = s[k]
            if not isinstance(t, torch.Tensor) or t.shape != p.shape or t.dtype != p.dtype:
                problems.append(f"state[{i}][{k!r}] must be a {p.dtype} tensor of shape {tuple(p.shape)}; got "
                                f"{t.dtype if isinstance(t, torch.Tensor) else type(t).__name__} "
                                f"{tuple(t.shape) if isinstance(t, torch.Tensor) else ''}")
    return problems


class SmallNet(torch.nn.Module):
    """Conv (bias) -> GroupNorm (affine) -> tanh -> Linear (bias) -> tanh -> Linear (bias); 3 classes.

    `loss(x, y)` is exported so that a LibTorch caller runs the very same loss (mean cross entropy).
    """

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.norm = torch.nn.GroupNorm(2, 4)
        self.fc1 = torch.nn.Linear(4 * 6 * 6, 20)
        self.fc2 = torch.nn.Linear(20, 3)

    def forward(self, x):
        h = torch.tanh(self.norm(self.conv(x)))
        h = torch.tanh(self.fc1(h.flatten(1)))
        return self.fc2(h)

    @torch.jit.export
    def loss(self, x, y):
        return torch.nn.functional.cross_entropy(self.forward(x), y)
