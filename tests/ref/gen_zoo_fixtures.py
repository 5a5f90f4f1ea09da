#!/usr/bin/python3
"""tests/ref/gen_zoo_fixtures.py — timm's MobileNet / EfficientNet zoo on Philox weights, for
tests/test_zoo.c.

Every model is built by timm itself (its registered constructors, or the _gen_* functions they
call when a knob changes the width or depth), in float64, with every parameter and BN buffer drawn
from Philox by name (gen_model_fixtures.generated(): tests/fixtures.c draws the very same floats)
and the input too (uniform(-1, 1), key INPUT_KEY, stream fnv1a(case)), so nothing of that size is
stored. tests/ref/zoo.fix (OPFX, opfx.py) holds per case:
  <case>/config         [width, depth, se_ratio, fused_stages, classes, res, batch]: the C side's
                        ModelKnobs (1, 1, 0, -1, 0: the model as named) and input size
  <case>/logits_eval    eval-mode logits (running statistics)
and for the small variants (knobs that shrink a named model, so the gradients stay cheap):
  <case>/logits_train   train-mode logits (batch statistics) ...
  <case>/r              ... the weights r of the loss L = sum(r * logits_train)
  <case>/gsig           (P, 5): the signature of dL/d(parameter) for every parameter, in the
                        order of their names (strcmp's): gen_model_fixtures.gsig, the norm and four
                        random projections of the gradient in our layout, flattened
  <case>/asig           (B, 5): the same of the BN running statistics after the train forward
and <model>/drop_path: timm's drop-path probability of every residual block with a non-zero one,
in order, for drop_path_rate DROP_PATH. A case's name is the registry's model name, then '@' and a
tag for variants. timm has no SE-ratio or Fused-MBConv-boundary argument: those variants rewrite
the block strings timm decodes (rewrite_arch), as the C builder's se_ratio and fused_stages do.
Run: make fixtures (timm from build/pysite).
"""
import sys
from functools import partial

import numpy as np
import timm
import timm.models.efficientnet as tef
import timm.models.mobilenetv3 as tmv3
import torch

from gen_model_fixtures import generated, gsig
from opfx import write_opfx
from philox import check_philox, fnv1a, uniform

INPUT_KEY, R_KEY, DROP_PATH = 0x5EED0A03, 0x5EED0A04, 0.2

# every registered model at a small resolution (odd sizes round up through the strided convs)
NAMED = [("mobilenetv1_100", 40), ("mobilenetv2_100", 35), ("mobilenetv2_110d", 32),
         ("mobilenetv3_large_100", 48), ("mobilenetv3_small_100", 37),
         ("mobilenetv4_conv_small", 41), ("mobilenetv4_conv_medium", 48),
         ("mobilenetv4_conv_large", 32), ("efficientnet_b0", 40), ("efficientnet_b1", 34),
         ("efficientnet_b2", 32), ("efficientnet_b3", 32), ("efficientnet_b4", 32),
         ("efficientnet_b5", 32), ("efficientnet_b6", 32), ("efficientnet_b7", 32),
         ("efficientnetv2_s", 33), ("efficientnetv2_m", 32), ("efficientnetv2_l", 32)]

# small variants, trained one step's worth (gradients): (case, timm constructor with its
# multipliers, knobs on the named model: width, depth, se_ratio, fused_stages, classes, res, batch)
VARIANTS = [
    ("mobilenetv1_100@w50d50", partial(tef._gen_mobilenet_v1, "mobilenetv1_100", 0.5, 0.5),
     (0.5, 0.5, 0, -1, 10, 64, 4)),
    # shallower than named: at full depth its train-mode gradients are ill-conditioned (PyTorch's
    # own float32 ones differ from float64 by 4e-2: linear bottlenecks into train-mode BNs cancel)
    ("mobilenetv2_110d@w50d25", partial(tef._gen_mobilenet_v2, "mobilenetv2_110d", 1.1 * 0.5,
                                        1.2 * 0.25, fix_stem_head=True), (0.5, 0.25, 0, -1, 10, 61, 4)),
    ("mobilenetv3_large_100@w50", partial(tmv3._gen_mobilenet_v3, "mobilenetv3_large_100", 0.5),
     (0.5, 1, 0, -1, 10, 68, 4)),
    ("mobilenetv3_small_100@w75se50", partial(tmv3._gen_mobilenet_v3, "mobilenetv3_small_100", 0.75),
     (0.75, 1, 0.5, -1, 10, 63, 4)),
    ("mobilenetv4_conv_small@w50", partial(tmv3._gen_mobilenet_v4, "mobilenetv4_conv_small", 0.5),
     (0.5, 1, 0, -1, 10, 63, 4)),
    ("mobilenetv4_conv_medium@w25", partial(tmv3._gen_mobilenet_v4, "mobilenetv4_conv_medium", 0.25),
     (0.25, 1, 0, -1, 10, 64, 4)),
    ("efficientnet_b0@w25d50se50f2", partial(tef._gen_efficientnet, "efficientnet_b0", 0.25, 0.5),
     (0.25, 0.5, 0.5, 2, 10, 66, 4)),
    ("efficientnetv2_s@w25d25f4", partial(tef._gen_efficientnetv2_s, "efficientnetv2_s", 0.25, 0.25),
     (0.25, 0.25, 0, 4, 10, 62, 4)),
    ("efficientnetv2_m@w25d20f0", partial(tef._gen_efficientnetv2_m, "efficientnetv2_m", 0.25, 0.2),
     (0.25, 0.2, 0, 0, 10, 60, 4)),
]


def rewrite_arch(se_ratio, fused_stages):
    """decode_arch_def with every SE ratio replaced by se_ratio (when > 0) and, for fused_stages
    >= 0, the MBConv-family blocks (ir, er, ds, cn with skip) of the first fused_stages stages as
    Fused-MBConv (er; cn with skip at expansion 1, without SE) and the rest as MBConv (ir; ds at
    expansion 1): engine/models/efficientnet.c's se_ratio and set_fused"""
    decode = tef.decode_arch_def

    def block(b, fused):
        ops = b.split("_")
        if se_ratio > 0:
            ops = [f"se{se_ratio}" if o.startswith("se") else o for o in ops]
        kind = ops[0]
        if fused is None or not (kind in ("ir", "er", "ds") or (kind == "cn" and "skip" in ops)):
            return "_".join(ops)
        e1 = kind in ("ds", "cn") or "e1" in ops
        rest = [o for o in ops[1:] if o != "skip"]
        if fused and e1:
            return "_".join(["cn"] + [o for o in rest if not o.startswith("se")] + ["skip"])
        return "_".join([("er" if fused else "ir") if not e1 else "ds"] + rest)

    def rewritten(arch_def, *args, **kwargs):
        arch = [[block(b, None if fused_stages < 0 else s < fused_stages) for b in stage]
                for s, stage in enumerate(arch_def)]
        return decode(arch, *args, **kwargs)
    return rewritten


def build(make, se_ratio=0, fused_stages=-1, **kwargs):
    """a timm model from its constructor, with the block strings rewritten for the knobs"""
    saved = tef.decode_arch_def, tmv3.decode_arch_def
    tef.decode_arch_def = tmv3.decode_arch_def = rewrite_arch(se_ratio, fused_stages)
    try:
        return make(**kwargs)
    finally:
        tef.decode_arch_def, tmv3.decode_arch_def = saved


def ours(t):
    t = t.detach().double()
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t


def philox_weights(m):
    """every parameter and BN buffer drawn by name in our layout, as tests/fixtures.c draws them"""
    with torch.no_grad():
        for k, v in m.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            dims = tuple(v.permute(0, 2, 3, 1).shape) if v.dim() == 4 else tuple(v.shape)
            w = torch.from_numpy(generated(k, dims)).double()
            v.copy_(w.permute(0, 3, 1, 2) if v.dim() == 4 else w)


def philox_input(case, batch, res):
    """the input batch (N,3,res,res): uniform(-1, 1) floats, drawn in our NHWC order"""
    x = (2 * uniform(INPUT_KEY, fnv1a(case), batch * res * res * 3) - 1).astype(np.float32)
    return torch.from_numpy(x.reshape(batch, res, res, 3)).double().permute(0, 3, 1, 2)


def run_case(case, m, cfg, train):
    res, batch = cfg[5], cfg[6]
    m = m.double()
    philox_weights(m)
    x = philox_input(case, batch, res)
    out = [(f"{case}/config", np.array(cfg, dtype=np.float64))]
    m.eval()
    with torch.no_grad():
        out.append((f"{case}/logits_eval", m(x)))
    if train:
        m.train()
        logits = m(x)
        r = (2 * uniform(R_KEY, fnv1a(case), logits.numel()) - 1).astype(np.float32)
        r = torch.from_numpy(r.reshape(logits.shape)).double()
        (logits * r).sum().backward()
        out += [(f"{case}/logits_train", logits), (f"{case}/r", r)]
        grads = sorted((k, ours(p.grad).numpy()) for k, p in m.named_parameters())
        stats = sorted((k, ours(v).numpy()) for k, v in m.state_dict().items()
                       if k.endswith("running_mean") or k.endswith("running_var"))
        out += [(f"{case}/gsig", np.stack([gsig(g) for _, g in grads])),
                (f"{case}/asig", np.stack([gsig(v) for _, v in stats]))]
    return out


def drop_path_rates(name):
    """timm's drop probabilities of the residual blocks that have one, in block order"""
    m = timm.create_model(name, drop_path_rate=DROP_PATH)
    rates = [b.drop_path.drop_prob for stage in m.blocks for b in stage
             if getattr(b, "has_skip", False) and hasattr(b.drop_path, "drop_prob")]
    return [(f"{name}/drop_path", np.array(rates))]


def main():
    check_philox()
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/zoo.fix"
    tensors = []
    for name, res in NAMED:
        tensors += run_case(name, timm.create_model(name), (1, 1, 0, -1, 0, res, 1), False)
        print(f"{name}: eval logits at {res}x{res}", flush=True)
    for case, make, cfg in VARIANTS:
        m = build(make, se_ratio=cfg[2], fused_stages=cfg[3], num_classes=cfg[4])
        tensors += run_case(case, m, cfg, True)
        print(f"{case}: {sum(p.numel() for p in m.parameters())} parameters, logits and gradients",
              flush=True)
    for name in ("efficientnet_b0", "mobilenetv4_conv_medium", "efficientnetv2_s"):
        tensors += drop_path_rates(name)
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
