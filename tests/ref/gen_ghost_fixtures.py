#!/usr/bin/python3
"""tests/ref/gen_ghost_fixtures.py — timm's GhostNetV3 logits, for tests/test_ghost.c.

Builds ghostnetv3_100, _130 and _160 with timm's own code (timm.create_model, drop_rate 0), gives
every parameter and buffer the value gen_model_fixtures.generated() draws from Philox for its name
(our layout, so both sides hold the very same floats and no weight is stored), running variances
times VAR_SCALE, and runs, in float64, a batch of BATCH images of RES x RES drawn from Philox too
(x[j] = 2 rng_uniform(X_KEY, 0, j) - 1 over the NHWC batch). VAR_SCALE = 4 (exact in float): with
the plain draw, eval-mode batch norm does not renormalize the sums of 3-5 parallel branches, the
activations grow to 1e11 over 16 blocks and float32 itself keeps no digit of the logits (timm in
float32 vs float64: 0.59 relative); scaled, they stay O(1) and float32 agrees to 7e-7.
Writes tests/ref/ghost.fix (the OPFX format of opfx.py), per model m:
  <m>/logits_eval     eval-mode logits of the training form (BATCH, 1000)
  <m>/logits_folded   the same after timm's reparameterize_model() (switch_to_deploy)
  <m>/entries         [state-dict entries of the training form, of the folded form], without
                      num_batches_tracked (our tables hold no step counters)
and for ghostnetv3_100 one training step's worth (batch statistics; drop_rate 0, so that no
dropout draw enters):
  <m>/logits_train    train-mode logits, and the gradients of L = sum(r * logits_train) with
                      r[j] = 2 rng_uniform(R_KEY, 0, j) - 1, as signatures (gen_model_fixtures.gsig)
  <m>/gsig/<name>     for the parameters of blocks.3.0 (DFC, stride-2 depthwise branches, SE,
                      projection shortcut), the stem and the classifier
It also asserts timm's parameter counts and MACs (conv + linear multiply-accumulates at 224) in
both forms, the numbers tests/test_ghost.c holds the builder to.
Run: make fixtures.
"""
import sys

import numpy as np
import timm
import torch
from timm.models._manipulate import reparameterize_model

from gen_model_fixtures import generated, gsig
from opfx import write_opfx
from philox import check_philox, uniform

MODELS = ["ghostnetv3_100", "ghostnetv3_130", "ghostnetv3_160"]
RES, BATCH = 56, 2  # 56 px: DFC gates of 7x7 (pooled to 3x3, upsampled 3 -> 7), 4x4 and 2x2
X_KEY, R_KEY = 0x5EED0A03, 0x5EED0A04
VAR_SCALE = 4.0
# timm 1.0.31: parameters and MACs at 224, training form and folded
COUNTS = {
    "ghostnetv3_100": (8129028, 404128320, 6147588, 167048288),
    "ghostnetv3_130": (12217720, 654842824, 8948296, 269322976),
    "ghostnetv3_160": (17275700, 971574612, 12377778, 398607224),
}
GRAD_PREFIXES = ("blocks.3.0.", "conv_stem.", "classifier.")


def ours_dims(v):
    return tuple(v.permute(0, 2, 3, 1).shape) if v.dim() == 4 else tuple(v.shape)


def counts(m):
    """parameters, and conv + linear multiply-accumulates of one 224 x 224 image"""
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            macs[0] += out.numel() * mod.weight[0].numel()
        elif isinstance(mod, torch.nn.Linear):
            macs[0] += mod.in_features * mod.out_features

    hooks = [mod.register_forward_hook(hook) for mod in m.modules()]
    with torch.no_grad():
        m(torch.zeros(1, 3, 224, 224, dtype=next(m.parameters()).dtype))
    for h in hooks:
        h.remove()
    return sum(p.numel() for p in m.parameters()), macs[0]


def entries(m):
    return [k for k in m.state_dict() if not k.endswith("num_batches_tracked")]


def main():
    check_philox()
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/ghost.fix"
    n = BATCH * RES * RES * 3
    x = torch.tensor((2 * uniform(X_KEY, 0, n) - 1).reshape(BATCH, RES, RES, 3)).permute(0, 3, 1, 2)
    tensors = []
    for name in MODELS:
        m = timm.create_model(name, drop_rate=0.0).double().eval()
        sd = m.state_dict()
        with torch.no_grad():
            for k in entries(m):
                w = torch.tensor(generated(k, ours_dims(sd[k]))).double()
                if k.endswith(".running_var"):
                    w *= VAR_SCALE
                sd[k].copy_(w.permute(0, 3, 1, 2) if w.dim() == 4 else w)
        folded = reparameterize_model(m)
        got = counts(m) + counts(folded)
        assert got == COUNTS[name], f"{name}: timm counts {got}, expected {COUNTS[name]}"
        with torch.no_grad():
            tensors.append((f"{name}/logits_eval", m(x)))
            tensors.append((f"{name}/logits_folded", folded(x)))
        tensors.append((f"{name}/entries", np.array([len(entries(m)), len(entries(folded))])))
        if name == "ghostnetv3_100":
            m.train()
            logits = m(x)
            r = torch.tensor(2 * uniform(R_KEY, 0, logits.numel()) - 1).reshape(logits.shape)
            (logits * r).sum().backward()
            tensors.append((f"{name}/logits_train", logits))
            for k, p in m.named_parameters():
                if k.startswith(GRAD_PREFIXES):
                    g = p.grad.permute(0, 2, 3, 1) if p.dim() == 4 else p.grad
                    tensors.append((f"{name}/gsig/{k}", gsig(g.contiguous().numpy())))
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors from {len(MODELS)} models (timm {timm.__version__})")


if __name__ == "__main__":
    main()
