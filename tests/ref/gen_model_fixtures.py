#!/usr/bin/python3
"""tests/ref/gen_model_fixtures.py — reference outputs of small ResNets, for tests/test_models.c.

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
Then He et al.'s CIFAR ResNet-20 with option-A shortcuts, as akamaster/pytorch_resnet_cifar10
builds it (re-implemented below: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4))).
Its 0.27M parameters would make a fixture of megabytes, so they are not stored: both sides draw
them from Philox (generated(), mirrored by tests/test_models.c), and a gradient with more than
GSIG_FULL values is stored as its signature (gsig(): the norm and four random projections):
  <m>/grad/<name>       dL/d(parameter) where it has at most GSIG_FULL values
  <m>/gsig/<name>       [|g|, <g, r0>, .., <g, r3>] of a larger one, our layout flattened, with
                        r_k[j] = 2 rng_uniform(SIG_KEY, k, j) - 1
Names are ours (timm's convention: akamaster's `linear` is our `fc`).
Run: make fixtures (installs timm with pip --no-deps into build/pysite when missing).
"""
import math
import sys
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from timm.layers import get_attn
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

from opfx import write_opfx
from philox import check_philox, fnv1a, uniform

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


# ---- He et al.'s CIFAR ResNets, option A, as akamaster/pytorch_resnet_cifar10 writes them -----

class ShortcutA(torch.nn.Module):
    """the parameter-free shortcut: every second row and column, zero channels on both sides"""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class CifarBlock(torch.nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.conv2 = torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        changes = stride != 1 or in_planes != planes
        self.shortcut = ShortcutA(planes // 4) if changes else torch.nn.Sequential()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(torch.nn.Module):
    def __init__(self, n, in_chans=3, num_classes=10):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        in_planes = 16
        for s, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blocks.append(CifarBlock(in_planes, planes, 2 if b == 0 and s > 0 else 1))
                in_planes = planes
            setattr(self, f"layer{s + 1}", torch.nn.Sequential(*blocks))
        self.linear = torch.nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


# the reference's parameter counts (He et al. 2016 §4.2; akamaster's table), 3 channels, 10 classes
CIFAR_A_PARAMS = {3: 269722, 5: 464154, 7: 658586, 9: 853018, 18: 1727962}

WEIGHT_KEY, SIG_KEY, GSIG_FULL = 0x5EED0A01, 0x5EED0A02, 1024


def generated(name, dims):
    """the value of parameter `name` (ours, our layout dims): Philox draws, one rounding to
    float32 of an exact-or-once-rounded double, so that C computes the very same floats"""
    u = uniform(WEIGHT_KEY, fnv1a(name), int(np.prod(dims)))
    if len(dims) >= 2:  # conv (OC,KH,KW,C), linear (OUT,IN): U(+-sqrt(3/fan_in)), variance 1/fan_in
        v = (2 * u - 1) * math.sqrt(3.0 / int(np.prod(dims[1:])))
    elif name.endswith(".running_mean"):
        v = (2 * u - 1) * 0.2
    elif name.endswith(".running_var") or name.endswith(".weight"):  # and BN gamma
        v = 0.5 + u
    else:  # BN beta, the classifier's bias
        v = (2 * u - 1) * 0.3
    return v.astype(np.float32).reshape(dims)


def gsig(g):
    """a large gradient's signature: its norm and projections on four fixed random vectors"""
    g = g.reshape(-1)
    return np.array([math.sqrt(float(g @ g))] +
                    [float(g @ (2 * uniform(SIG_KEY, k, g.size) - 1)) for k in range(4)])


def cifar_a(name, n, in_chans, num_classes, res, batch):
    m = CifarResNet(n, in_chans, num_classes).double()
    ours_name = lambda k: "fc." + k[len("linear."):] if k.startswith("linear.") else k
    sd = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    with torch.no_grad():
        for k, v in sd.items():
            dims = tuple(v.permute(0, 2, 3, 1).shape) if v.dim() == 4 else tuple(v.shape)
            w = torch.tensor(generated(ours_name(k), dims)).double()
            v.copy_(w.permute(0, 3, 1, 2) if v.dim() == 4 else w)
    x = torch.tensor(rng.uniform(-1, 1, size=(batch, in_chans, res, res)).astype(np.float32)).double()

    def grad_entry(k, g):  # small gradients in full, large ones as signatures
        g = g.numpy()
        return (f"grad/{ours_name(k)}", g) if g.size <= GSIG_FULL else (f"gsig/{ours_name(k)}", gsig(g))
    return forward_backward(name, m, x, grad_entry)


def forward_backward(name, m, x, grad_entry):
    """the input, eval and train logits, the gradients of sum(r * logits) for a random r (each
    through grad_entry(name, ours(grad)) -> (key, value)) and the running statistics after"""
    tensors = [(f"{name}/x", ours(x))]
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
        key, v = grad_entry(k, ours(p.grad))
        tensors.append((f"{name}/{key}", v))
    for k, v in m.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            tensors.append((f"{name}/after/{k}", v))
    return tensors


def main():
    check_philox()
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
        tensors += forward_backward(name, m, x, lambda k, g: (f"grad/{k}", g))
    # after the timm models, so that their draws (and fixtures) stay as they were
    for n, want in CIFAR_A_PARAMS.items():
        got = sum(p.numel() for p in CifarResNet(n).parameters())
        assert got == want, f"ResNet-{6 * n + 2} option A: {got} parameters, akamaster {want}"
    tensors += cifar_a("resnet20a_akamaster", 3, in_chans=3, num_classes=10, res=15, batch=2)
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors from {len(MODELS)} timm models and ResNet-20 option A")


if __name__ == "__main__":
    main()
