"""The fine-tuning data of TorchScriptFineTuneExample, generated bit for bit as its Java code generates it.

No random generator of torch or numpy is used: they differ between Java and Python. A 64-bit linear congruential
generator (Knuth's MMIX constants) gives integers; each becomes the double (state >> 11) * 2**-53 in [0, 1), and
x = 2 * u - 1. The targets use only +, - and *, in the same order as in Java, so IEEE double arithmetic gives the
same bits on both sides.

SAMPLES inputs of FEATURES values; step k trains on batch k % BATCHES, rows [b * BATCH, (b + 1) * BATCH).
"""

import torch

FEATURES = 8
SAMPLES = 256
BATCH = 32
BATCHES = SAMPLES // BATCH
SEED = 16
_MASK = (1 << 64) - 1


def dataset():
    """(inputs [SAMPLES, FEATURES], targets [SAMPLES, 1]), float64, of the fine-tuning task."""
    state = SEED
    values = []
    for _ in range(SAMPLES * FEATURES):
        state = (state * 6364136223846793005 + 1442695040888963407) & _MASK
        values.append(2.0 * ((state >> 11) * 2.0 ** -53) - 1.0)
    inputs = torch.tensor(values, dtype=torch.float64).reshape(SAMPLES, FEATURES)
    targets = torch.tensor([fine_tune_target(row) for row in inputs.tolist()],
                           dtype=torch.float64).reshape(SAMPLES, 1)
    return inputs, targets


def fine_tune_target(x):
    """The fine-tuning task: the base task plus two terms."""
    return x[0] * x[1] + 0.5 * x[2] - x[3] * x[4] + 0.25 * x[5]


def base_target(inputs):
    """The pretraining task of make_model.py (Python only)."""
    return torch.tensor([r[0] * r[1] + 0.5 * r[2] for r in inputs.tolist()],
                        dtype=torch.float64).reshape(-1, 1)


def batch(inputs, targets, k):
    """Batch of step k (0-based)."""
    b = k % BATCHES
    return inputs[b * BATCH:(b + 1) * BATCH], targets[b * BATCH:(b + 1) * BATCH]
