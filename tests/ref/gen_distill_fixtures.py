#!/usr/bin/python3
"""tests/ref/gen_distill_fixtures.py — the distillation losses in PyTorch, for tests/test_distill.c.

tests/ref/distill.fix (OPFX format, see opfx.py), float64 computations stored as float32:
  kd_<case>/   zt (T, n, K) teachers' logits, z (n, K) student logits, labels (n), the scalars
               tau, kd_weight, ce_weight, smoothing; q (n, K) = mean_t softmax(zt_t / tau),
               zbar (n, K) = mean_t zt_t, loss = mean_i [ce_weight CE_smooth(z_i, y_i) +
               kd_weight tau^2 KL(q_i || softmax(z_i / tau))], dz = d loss / dz
     hinton    (1 - alpha) CE + alpha tau^2 KL with alpha 0.7, tau 4, two teachers (Hinton et al.
               2015; the usual F.kl_div(log_softmax(s/T), softmax(t/T)) * T^2 code)
     ghostnetv3  GhostNetV3's train.py as written: CE with label smoothing 0.1 (timm's
               LabelSmoothingCrossEntropy) + -bmm(softmax(z_t), log_softmax(z_s)).mean(), weights 1,
               temperature unused; stored in KL form (its soft term minus the entropy of q, asserted)
     meal_v2   MEAL V2's KLLoss (extensions/kd_loss.py) on teacher_wrapper's combined soft labels
               of three teachers; no hard labels; stored in KL form likewise
  disc/        MEAL V2's Discriminator (models/discriminator.py: 1x1 convs K -> K/r -> K/r^2 -> 2, ReLU
               after each) and discriminatorLoss (loss.py: student and teacher logits stacked along
               the batch, BCEWithLogitsLoss against [1, 0] / [0, 1]): inputs zs, zt, weights w1..w3
               (OUT, IN), b1..b3, r; outputs loss, dzs, dw1.., db1..
  meal_v2/     the whole MEAL V2 student objective of train.py: KLLoss(z, soft labels) + the
               discriminator's loss on (z, mean teacher logits), one backward: zt, z, the
               discriminator's weights; loss (KL form), dz, dw1.., db1..

Run with Debian's interpreter:  /usr/bin/python3 tests/ref/gen_distill_fixtures.py tests/ref/distill.fix
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from opfx import write_opfx

rng = np.random.default_rng(20260311)


def uniform(shape, lo, hi):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def soft_labels(zt, tau):
    """teacher_wrapper.py (combine=True): each teacher's softmax stacked on dim 2, then the mean;
    the discriminator's teacher input is the mean of the logits, stacked the same way"""
    Zt = [t64(z).unsqueeze(2) for z in zt]
    q = torch.cat([F.softmax(z / tau, dim=1) for z in Zt], dim=2).mean(dim=2)
    zbar = torch.cat(Zt, dim=2).mean(dim=2)
    return q, zbar


def entropy(q):
    return -(q * torch.where(q > 0, q.log(), torch.zeros_like(q))).sum(1)


class Discriminator(nn.Module):
    """models/discriminator.py of MEAL V2, as it is"""

    def __init__(self, outputs_size, K=2):
        super().__init__()
        self.conv1 = nn.Conv2d(outputs_size, outputs_size // K, kernel_size=1, stride=1, bias=True)
        outputs_size = outputs_size // K
        self.conv2 = nn.Conv2d(outputs_size, outputs_size // K, kernel_size=1, stride=1, bias=True)
        outputs_size = outputs_size // K
        self.conv3 = nn.Conv2d(outputs_size, 2, kernel_size=1, stride=1, bias=True)

    def forward(self, x):
        x = x[:, :, None, None]
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = F.relu(self.conv3(out))
        return out.view(out.size(0), -1)


def discriminator(k, r):
    """a Discriminator in float64 with weights drawn here, and them in our layout (OUT, IN)"""
    d = Discriminator(k, r).double()
    out = {"r": np.array([r], np.float32)}
    with torch.no_grad():
        for i, conv in enumerate([d.conv1, d.conv2, d.conv3], 1):
            w = uniform(tuple(conv.weight.shape[:2]), -0.6, 0.6)
            b = uniform(tuple(conv.bias.shape), -0.3, 0.3)
            conv.weight.copy_(t64(w)[:, :, None, None])
            conv.bias.copy_(t64(b))
            out[f"w{i}"], out[f"b{i}"] = w, b
    return d, out


def disc_loss(d, zs, zt):
    """loss.py's discriminatorLoss: cat((student, teacher), 0), BCEWithLogitsLoss vs [1,0] / [0,1]"""
    n = zs.shape[0]
    target = torch.tensor([[1.0, 0.0]] * n + [[0.0, 1.0]] * n, dtype=torch.float64)
    return nn.BCEWithLogitsLoss()(d(torch.cat((zs, zt), 0)), target)


def disc_grads(d, out):
    for i, conv in enumerate([d.conv1, d.conv2, d.conv3], 1):
        out[f"dw{i}"] = conv.weight.grad[:, :, 0, 0]
        out[f"db{i}"] = conv.bias.grad


def kd(T, n, k, tau, kd_w, ce_w, smoothing, form):
    zt = [uniform((n, k), -4, 4) for _ in range(T)]
    z = uniform((n, k), -3, 3)
    labels = rng.integers(0, k, size=n)
    q, zbar = soft_labels(zt, tau)
    Z = t64(z, True)
    kl = F.kl_div(F.log_softmax(Z / tau, 1), q, reduction="none").sum(1) * tau * tau
    ce = F.cross_entropy(Z, torch.tensor(labels), reduction="none", label_smoothing=smoothing)
    loss = (kd_w * kl + ce_w * ce).mean()
    if form != "hinton":  # the source's soft cross-entropy: the KL form plus the entropy of q
        soft = -torch.bmm(q.unsqueeze(1), F.log_softmax(Z, 1).unsqueeze(2)).mean()
        theirs = ce_w * ce.mean() + kd_w * soft
        assert torch.allclose(theirs - kd_w * entropy(q).mean(), loss, rtol=1e-12, atol=1e-12)
    (dz,) = torch.autograd.grad(loss, Z)
    return {"zt": np.stack(zt), "z": z, "labels": labels.astype(np.float32), "tau": [tau],
            "kd_weight": [kd_w], "ce_weight": [ce_w], "smoothing": [smoothing], "q": q, "zbar": zbar,
            "loss": [loss.item()], "dz": dz}


def disc(n, k, r):
    d, out = discriminator(k, r)
    zs, zt = uniform((n, k), -3, 3), uniform((n, k), -3, 3)
    Zs = t64(zs, True)
    loss = disc_loss(d, Zs, t64(zt))
    loss.backward()
    disc_grads(d, out)
    out.update({"zs": zs, "zt": zt, "loss": [loss.item()], "dzs": Zs.grad})
    return out


def meal_v2(T, n, k, r):
    d, out = discriminator(k, r)
    zt = [uniform((n, k), -4, 4) for _ in range(T)]
    z = uniform((n, k), -3, 3)
    q, zbar = soft_labels(zt, 1.0)
    Z = t64(z, True)
    g_loss = -torch.bmm(q.unsqueeze(1), F.log_softmax(Z, 1).unsqueeze(2)).mean()  # KLLoss
    loss = g_loss + disc_loss(d, Z, zbar)  # train.py: loss_value = g_loss_value + d_loss_value
    loss.backward()
    disc_grads(d, out)
    out.update({"zt": np.stack(zt), "z": z, "loss": [(loss - entropy(q).mean()).item()], "dz": Z.grad})
    return out


CASES = {
    "kd_hinton": lambda: kd(2, 5, 7, 4.0, 0.7, 0.3, 0.0, "hinton"),
    "kd_ghostnetv3": lambda: kd(1, 4, 6, 1.0, 1.0, 1.0, 0.1, "ghostnetv3"),
    "kd_meal_v2": lambda: kd(3, 4, 10, 1.0, 1.0, 0.0, 0.0, "meal_v2"),
    "disc": lambda: disc(6, 10, 2),
    "meal_v2": lambda: meal_v2(2, 4, 10, 3),
}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/distill.fix"
    tensors = [(f"{case}/{name}", a) for case, make in CASES.items() for name, a in make().items()]
    write_opfx(path, tensors)  # float32, tensors detached
    print(f"{path}: {len(tensors)} tensors from {len(CASES)} cases (torch {torch.__version__})")


if __name__ == "__main__":
    main()
