#!/usr/bin/python3
"""tests/ref/gen_model_fixtures.py — timm's outputs for tiny ResNets, for tests/test_models.c.

Builds small models with timm's own ResNet class (timm.models.resnet.ResNet: the code whose names
and numbers the suite reproduces), with random weights, BN affine parameters and running
statistics, and records in tests/ref/models.fix (the OPFX format of gen_op_fixtures.py), per model:
  <m>/param/<name>      every parameter and buffer in our layout (conv weights (OC,KH,KW,C/G))
  <m>/x                 an input batch, NHWC
  <m>/logits_eval       eval-mode logits (running statistics)
  <m>/logits_train      train-mode logits (batch statistics) ...
  <m>/r                 ... the weights r of the loss L = sum(r * logits_train)
  <m>/grad/<name>       dL/d(parameter), our layout
  <m>/after/<name>      running statistics after the train-mode forward
Run: make fixtures (installs timm with pip --no-deps into build/pysite when missing).
"""
import sys
from functools import partial

import numpy as np
import torch
from timm.layers import get_attn
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

from opfx import write_opfx

torch.manual_seed(0)
rng = np.random.default_rng(11)

MODELS = {
    # BasicBlock, ResNet-RS features: deep stem, stem conv instead of max-pool, avg-down, SE 0.25
    "tiny_rs_basic": dict(block=BasicBlock, layers=[1, 1, 1, 1], channels=(8, 8, 16, 16),
                          stem_width=4, stem_type="deep", replace_stem_pool=True, avg_down=True,
                          block_args=dict(attn_layer=partial(get_attn("se"), rd_ratio=0.25)),
                          in_chans=1, num_classes=5, res=32, batch=3),
    # Bottleneck, the classic 7x7 stem with max-pool and projection shortcuts
    "tiny_bottleneck": dict(block=Bottleneck, layers=[2, 1, 1, 1], channels=(4, 4, 8, 8),
                            in_chans=3, num_classes=7, res=29, batch=2),
}


def ours(t):
    t = t.detach().double().clone()  # a copy: buffers change in the train-mode forward later
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/models.fix"
    tensors = []
    for name, cfg in MODELS.items():
        cfg = dict(cfg)
        res, batch = cfg.pop("res"), cfg.pop("batch")
        m = ResNet(**cfg).double()
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.3, 0.3)
                    mod.running_mean.uniform_(-0.2, 0.2)
                    mod.running_var.uniform_(0.5, 1.5)
        sd = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
        # float32 weights on both sides: round, then compute in float64
        with torch.no_grad():
            for v in sd.values():
                v.copy_(v.float().double())
        for k, v in sd.items():
            tensors.append((f"{name}/param/{k}", ours(v)))
        x = torch.tensor(rng.uniform(-1, 1, size=(batch, cfg["in_chans"], res, res)).astype(np.float32)).double()
        tensors.append((f"{name}/x", ours(x)))
        m.eval()
        with torch.no_grad():
            tensors.append((f"{name}/logits_eval", m(x)))
        m.train()
        logits = m(x)
        r = torch.tensor(rng.uniform(-1, 1, size=tuple(logits.shape)).astype(np.float32)).double()
        (logits * r).sum().backward()
        tensors.append((f"{name}/logits_train", logits))
        tensors.append((f"{name}/r", r))
        for k, p in m.named_parameters():
            tensors.append((f"{name}/grad/{k}", ours(p.grad)))
        for k, v in m.state_dict().items():
            if k.endswith("running_mean") or k.endswith("running_var"):
                tensors.append((f"{name}/after/{k}", v))
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors from {len(MODELS)} timm models")


if __name__ == "__main__":
    main()
