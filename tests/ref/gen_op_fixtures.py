#!/usr/bin/python3
"""tests/ref/gen_op_fixtures.py — PyTorch's outputs and gradients for the op test's cases.

Writes tests/ref/ops.fix: for every case below (names and shapes as in tests/op_cases.c), the
inputs (float32, our layouts: activations NHWC, conv weights (OC,KH,KW,C/G)), and what PyTorch
computes from them in float64 — forward outputs, gradients for the upstream gradient dy, and
batch norm's running statistics after the step. test_ops loads the inputs, runs the ref backend
and compares, so the oracle is checked against code no one here wrote.

Run with Debian's interpreter:  /usr/bin/python3 tests/ref/gen_op_fixtures.py tests/ref/ops.fix
Format: b"OPFX", u32 version 1, u32 count, then per tensor: u32 name length, name (utf-8),
u32 ndim, u32 dims[ndim], float32 data — all little endian.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from opfx import write_opfx
from philox import check_philox, rng_uniform

rng = np.random.default_rng(20261124)


def uniform(shape, lo, hi):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def probs(n, k):
    p = rng.uniform(0.05, 1.05, size=(n, k))
    p[:, 3::5] = 0.0  # exact zeros: KL's 0 log 0 and soft targets with empty classes
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def nchw(t):  # NHWC tensor -> NCHW view
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def backward(y, dy, *inputs):
    grads = torch.autograd.grad(y, [i for i in inputs if i is not None], grad_outputs=dy,
                                allow_unused=True)
    return [g if g is not None else torch.zeros_like(i) for g, i in zip(grads, inputs)]


# ---- one function per op: returns {name: array} of inputs and outputs -----------------------

def conv(n, h, w, c, oc, kh, kw, s, p, d, g, bias, sw=None, pw=None):
    sw = s if sw is None else sw
    pw = p if pw is None else pw
    x = uniform((n, h, w, c), -1, 1)
    wt = uniform((oc, kh, kw, c // g), -0.5, 0.5)
    b = uniform((oc,), -0.5, 0.5) if bias else None
    X, W = t64(x, True), t64(wt, True)
    B = t64(b, True) if bias else None
    y = nhwc(F.conv2d(nchw(X), W.permute(0, 3, 1, 2), B, stride=(s, sw), padding=(p, pw),
                      dilation=(d, d), groups=g))
    dy = uniform(tuple(y.shape), -1, 1)
    out = {"x": x, "w": wt, "y": y, "dy": dy}
    grads = backward(y, t64(dy), X, W, B)
    out["dx"], out["dw"] = grads[0], grads[1]
    if bias:
        out["b"], out["db"] = b, grads[2]
    return out


def conv_fused(n, h, w, c, oc, k, s, p, g, act_name):
    x, wt, b = uniform((n, h, w, c), -1, 1), uniform((oc, k, k, c // g), -0.5, 0.5), uniform((oc,), -0.5, 0.5)
    y = F.conv2d(nchw(t64(x)), t64(wt).permute(0, 3, 1, 2), t64(b), stride=s, padding=p, groups=g)
    return {"x": x, "w": wt, "b": b, "y": nhwc(ACTS[act_name](y))}


def batchnorm(n, h, w, c, eps, momentum, train, act_name=None):
    x = uniform((n, h, w, c), -1, 3)
    gamma, beta = uniform((c,), 0.5, 1.5), uniform((c,), -0.5, 0.5)
    rm, rv = uniform((c,), -0.5, 0.5), uniform((c,), 0.5, 1.5)
    X, G, B = t64(x, True), t64(gamma, True), t64(beta, True)
    RM, RV = t64(rm), t64(rv)
    y = nhwc(F.batch_norm(nchw(X), RM, RV, G, B, training=train, momentum=momentum, eps=eps))
    if act_name:  # the activation fused into the op (ops.h: y = act(z))
        y = ACTS[act_name](y)
    if train:
        flat = t64(x).reshape(-1, c)
        mean, var = flat.mean(0), flat.var(0, unbiased=False)
    else:
        mean, var = t64(rm), t64(rv)
    dy = uniform(tuple(y.shape), -1, 1)
    dx, dg, db = backward(y, t64(dy), X, G, B)
    return {"x": x, "gamma": gamma, "beta": beta, "run_mean": rm, "run_var": rv, "y": y,
            "mean": mean, "rstd": 1.0 / torch.sqrt(var + eps), "dy": dy, "dx": dx,
            "dgamma": dg, "dbeta": db, "run_mean_after": RM, "run_var_after": RV}


ACTS = {"relu": F.relu, "relu6": F.relu6, "silu": F.silu, "hswish": F.hardswish,
        "hsigmoid": F.hardsigmoid, "sigmoid": torch.sigmoid, "gelu": F.gelu}


def act(kind):
    x = uniform((1000,), -4, 7)
    X = t64(x, True)
    y = ACTS[kind](X)
    dy = uniform((1000,), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def chanmul(n, h, w, c):
    x, s = uniform((n, h, w, c), -1, 1), uniform((n, c), 0, 1)
    X, S = t64(x, True), t64(s, True)
    y = X * S[:, None, None, :]
    dy = uniform(tuple(y.shape), -1, 1)
    dx, ds = backward(y, t64(dy), X, S)
    return {"x": x, "s": s, "y": y, "dy": dy, "dx": dx, "ds": ds}


def pool(kind, n, h, w, c, k, s, p, ceil, incl):
    x = uniform((n, h, w, c), -1, 1)
    X = t64(x, True)
    if kind == "max":
        y = nhwc(F.max_pool2d(nchw(X), k, s, p, ceil_mode=ceil))
    else:
        y = nhwc(F.avg_pool2d(nchw(X), k, s, p, ceil_mode=ceil, count_include_pad=incl))
    dy = uniform(tuple(y.shape), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def chanpad(n, h, w, c, before, after):
    x = uniform((n, h, w, c), -1, 1)
    X = t64(x, True)
    y = nhwc(F.pad(nchw(X), (0, 0, 0, 0, before, after), "constant", 0))
    dy = uniform(tuple(y.shape), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def gap(n, h, w, c):
    x = uniform((n, h, w, c), -1, 1)
    X = t64(x, True)
    y = X.mean((1, 2))
    dy = uniform(tuple(y.shape), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def linear(n, fin, fout, bias):
    x, w = uniform((n, fin), -1, 1), uniform((fout, fin), -0.5, 0.5)
    b = uniform((fout,), -0.5, 0.5) if bias else None
    X, W = t64(x, True), t64(w, True)
    B = t64(b, True) if bias else None
    y = F.linear(X, W, B)
    dy = uniform(tuple(y.shape), -1, 1)
    grads = backward(y, t64(dy), X, W, B)
    out = {"x": x, "w": w, "y": y, "dy": dy, "dx": grads[0], "dw": grads[1]}
    if bias:
        out["b"], out["db"] = b, grads[2]
    return out


def xent(n, k, smoothing, soft):
    z = uniform((n, k), -3, 3)
    Z = t64(z, True)
    if soft:
        tg = probs(n, k)
        loss = -(t64(tg) * F.log_softmax(Z, 1)).sum(1)
        extra = {"targets": tg}
    else:
        labels = rng.integers(0, k, size=n)
        loss = F.cross_entropy(Z, torch.tensor(labels), reduction="none", label_smoothing=smoothing)
        extra = {"labels": labels.astype(np.float32)}
    dl = uniform((n,), -1, 1)
    (dz,) = backward(loss, t64(dl), Z)
    return {"logits": z, **extra, "loss": loss, "prob": F.softmax(Z, 1), "dloss": dl,
            "dlogits": dz}


def softmax(n, k, t):
    x = uniform((n, k), -5, 5)
    return {"x": x, "y": F.softmax(t64(x) / t, 1)}


def kldiv(n, k, t):
    s, q = uniform((n, k), -3, 3), probs(n, k)
    S = t64(s, True)
    logp = F.log_softmax(S / t, 1)
    loss = F.kl_div(logp, t64(q), reduction="none").sum(1) * t * t
    dl = uniform((n,), -1, 1)
    (ds,) = backward(loss, t64(dl), S)
    return {"s": s, "q": q, "loss": loss, "p": logp.exp(), "dloss": dl, "ds": ds}


def resize(n, h, w, c, oh, ow, mode="bilinear"):
    x = uniform((n, h, w, c), -1, 1)
    X = t64(x, True)
    corners = dict(align_corners=False) if mode == "bilinear" else {}
    y = nhwc(F.interpolate(nchw(X), size=(oh, ow), mode=mode, **corners))
    dy = uniform(tuple(y.shape), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


# ---- dropout masks: engine/core/rng.h's Philox-4x32-10 and float conversion written again from
# the paper's definition (philox.py), so these fixtures check the engine's draws independently


def dropout(n, per, p, key, sample0):
    x = uniform((n * per,), -1, 1)
    p32 = float(np.float32(p))  # the engine compares with the float32 p
    keep = np.array([rng_uniform(key, sample0 + i, j) >= p32 for i in range(n) for j in range(per)])
    X = t64(x, True)
    y = X * t64(keep.astype(np.float64)) / (1 - p)
    dy = uniform((n * per,), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def droppath(n, per, p, key, sample0):
    x = uniform((n, per), -1, 1)
    p32 = float(np.float32(p))
    keep = np.array([rng_uniform(key, 0, sample0 + i) >= p32 for i in range(n)], dtype=np.float64)
    X = t64(x, True)
    y = X * t64(keep)[:, None] / (1 - p)
    dy = uniform((n, per), -1, 1)
    (dx,) = backward(y, t64(dy), X)
    return {"x": x, "y": y, "dy": dy, "dx": dx}


def mul(n):
    a, b = uniform((n,), -1, 1), uniform((n,), -1, 1)
    A, B = t64(a, True), t64(b, True)
    y = A * B
    dy = uniform((n,), -1, 1)
    da, db = backward(y, t64(dy), A, B)
    return {"a": a, "b": b, "y": y, "dy": dy, "da": da, "db": db}


def add(n, act_name=None, lo=-1, hi=1):
    a, b = uniform((n,), lo, hi), uniform((n,), lo, hi)
    A, B = t64(a, True), t64(b, True)
    y = A + B
    if act_name:
        y = ACTS[act_name](y)
    dy = uniform((n,), -1, 1)
    da, db = backward(y, t64(dy), A, B)
    return {"a": a, "b": b, "y": y, "dy": dy, "da": da, "db": db}


# ---- the cases: names and shapes exactly as in tests/op_cases.c ------------------------------

CASES = {
    "conv2d 3x3 s1 p1": lambda: conv(2, 9, 9, 8, 16, 3, 3, 1, 1, 1, 1, False),
    "conv2d 3x3 s2 p1": lambda: conv(2, 9, 9, 8, 16, 3, 3, 2, 1, 1, 1, False),
    "conv2d 1x1 s2": lambda: conv(2, 9, 9, 8, 16, 1, 1, 2, 0, 1, 1, False),
    "conv2d 1x1 s2 even (pad_r -1)": lambda: conv(2, 8, 8, 6, 12, 1, 1, 2, 0, 1, 1, False),
    "conv2d 5x5 g2 p2": lambda: conv(2, 8, 7, 6, 10, 5, 5, 1, 2, 1, 2, False),
    "dwconv 3x3 s2": lambda: conv(2, 9, 9, 8, 8, 3, 3, 2, 1, 1, 8, False),
    "dwconv 5x5 x2 bias": lambda: conv(2, 7, 8, 6, 12, 5, 5, 1, 2, 1, 6, True),
    "conv2d 3x3 d2 p2": lambda: conv(2, 9, 10, 5, 7, 3, 3, 1, 2, 2, 1, False),
    "conv2d 7x7 s2 n1 c3": lambda: conv(1, 13, 11, 3, 8, 7, 7, 2, 3, 1, 1, False),
    "conv2d 3x3 p0 n1 bias": lambda: conv(1, 6, 7, 4, 5, 3, 3, 1, 0, 1, 1, True),
    "conv2d 3x3 s1 c16 wino": lambda: conv(2, 9, 9, 16, 16, 3, 3, 1, 1, 1, 1, False),
    "conv2d 3x3 s1 c32 oc16 wino": lambda: conv(2, 7, 11, 32, 16, 3, 3, 1, 1, 1, 1, False),
    "conv2d 3x3 s1 c16 oc48 n3 wino": lambda: conv(3, 6, 5, 16, 48, 3, 3, 1, 1, 1, 1, False),
    "conv2d 3x3 s1 c32 p0 wino": lambda: conv(2, 8, 8, 32, 32, 3, 3, 1, 0, 1, 1, False),
    "conv2d 1x3 s(1,2) bias": lambda: conv(2, 5, 9, 4, 6, 1, 3, 1, 0, 1, 1, True, sw=2, pw=1),
    "conv2d 3x3 bias+relu fused": lambda: conv_fused(2, 9, 9, 8, 16, 3, 1, 1, 1, "relu"),
    "dwconv 3x3 s2 bias+hswish fused": lambda: conv_fused(2, 9, 9, 8, 8, 3, 2, 1, 8, "hswish"),
    "conv2d 1x1 bias+hsigmoid fused": lambda: conv_fused(2, 5, 6, 8, 12, 1, 1, 0, 1, "hsigmoid"),
    "batchnorm train": lambda: batchnorm(4, 5, 5, 8, 1e-5, 0.1, True),
    "batchnorm train n1": lambda: batchnorm(1, 7, 5, 3, 1e-3, 0.01, True),
    "batchnorm eval": lambda: batchnorm(3, 4, 5, 6, 1e-5, 0.1, False),
    "batchnorm train relu": lambda: batchnorm(4, 5, 5, 8, 1e-5, 0.1, True, "relu"),
    "batchnorm train hswish n1": lambda: batchnorm(1, 7, 5, 3, 1e-3, 0.01, True, "hswish"),
    "batchnorm eval silu": lambda: batchnorm(3, 4, 5, 6, 1e-5, 0.1, False, "silu"),
    **{f"act {k}": (lambda k=k: act(k)) for k in ACTS},
    "add": lambda: add(1001),
    "add relu": lambda: add(1001, "relu"),
    "add relu6": lambda: add(1001, "relu6", -2, 5),
    "dropout p0.3": lambda: dropout(4, 50, 0.3, 7, 100),
    "dropout p0": lambda: dropout(3, 17, 0.0, 7, 0),
    "droppath p0.25": lambda: droppath(8, 30, 0.25, 11, 5),
    "chanmul (SE gate)": lambda: chanmul(2, 5, 7, 12),
    "maxpool 3x3 s2 p1": lambda: pool("max", 2, 9, 9, 4, 3, 2, 1, False, True),
    "maxpool 2x2 s2 ceil": lambda: pool("max", 2, 7, 7, 3, 2, 2, 0, True, True),
    "maxpool 3x3 s1 p1 n1": lambda: pool("max", 1, 6, 5, 5, 3, 1, 1, False, True),
    "avgpool 2x2 s2 ceil excl": lambda: pool("avg", 2, 7, 7, 3, 2, 2, 0, True, False),
    "avgpool 3x3 s1 p1 incl": lambda: pool("avg", 2, 6, 5, 4, 3, 1, 1, False, True),
    "avgpool 3x3 s2 p1 excl": lambda: pool("avg", 2, 9, 8, 4, 3, 2, 1, False, False),
    "avgpool 3x3 s2 p0 even excl": lambda: pool("avg", 2, 8, 8, 3, 3, 2, 0, False, False),
    "maxpool 3x3 s2 p0 even": lambda: pool("max", 2, 8, 8, 3, 3, 2, 0, False, True),
    "avgpool 3x3 s2 ceil incl": lambda: pool("avg", 1, 8, 8, 2, 3, 2, 1, True, True),
    "global avgpool": lambda: gap(2, 7, 5, 6),
    "linear bias": lambda: linear(5, 13, 7, True),
    "linear 64->10 n1": lambda: linear(1, 64, 10, True),
    "linear no bias": lambda: linear(4, 9, 11, False),
    "xent labels smooth0.1": lambda: xent(6, 10, 0.1, False),
    "xent labels n1 k3": lambda: xent(1, 3, 0.0, False),
    "xent soft targets": lambda: xent(5, 7, 0.0, True),
    "softmax t1": lambda: softmax(4, 9, 1.0),
    "softmax t4": lambda: softmax(3, 5, 4.0),
    "kldiv t4": lambda: kldiv(5, 8, 4.0),
    "kldiv t1": lambda: kldiv(3, 6, 1.0),
    "resize up 5x7->9x11": lambda: resize(2, 5, 7, 3, 9, 11),
    "resize down 9x11->4x6": lambda: resize(2, 9, 11, 3, 4, 6),
    "resize same 4x4": lambda: resize(1, 4, 4, 2, 4, 4),
    # added after the others, so that their draws (and fixtures) stay as they were
    "chanpad 6->12 (option A 3+3)": lambda: chanpad(2, 5, 4, 6, 3, 3),
    "chanpad 0+0 (identity)": lambda: chanpad(2, 3, 5, 4, 0, 0),
    "chanpad 1+4 asymmetric n1": lambda: chanpad(1, 4, 3, 5, 1, 4),
    "chanpad 2+0 before only": lambda: chanpad(2, 3, 3, 3, 2, 0),
    "chanpad 0+5 after only c1": lambda: chanpad(3, 2, 3, 1, 0, 5),
    "avgpool 1x1 s2 (subsample) odd": lambda: pool("avg", 2, 7, 5, 4, 1, 2, 0, False, True),
    "avgpool 1x1 s2 (subsample) even": lambda: pool("avg", 2, 8, 6, 3, 1, 2, 0, False, True),
    # GhostNetV3's DFC attention (appended: the earlier cases' draws and fixtures stay as they were)
    "resize nearest 3x3->7x7": lambda: resize(2, 3, 3, 4, 7, 7, "nearest"),
    "resize nearest x2 2x3->4x6": lambda: resize(2, 2, 3, 5, 4, 6, "nearest"),
    "resize nearest 1x1->2x2 n1": lambda: resize(1, 1, 1, 6, 2, 2, "nearest"),
    "resize nearest 2x5->5x13": lambda: resize(2, 2, 5, 3, 5, 13, "nearest"),
    "resize nearest down 9x11->4x6": lambda: resize(2, 9, 11, 3, 4, 6, "nearest"),
    "mul": lambda: mul(1001),
}


def main():
    check_philox()
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/ops.fix"
    tensors = []
    for case, make in CASES.items():
        for name, a in make().items():
            if isinstance(a, torch.Tensor):
                a = a.detach().contiguous().numpy()
            tensors.append((f"{case}/{name}", np.ascontiguousarray(a, dtype="<f4")))
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors from {len(CASES)} cases (torch {torch.__version__})")


if __name__ == "__main__":
    main()
