#!/usr/bin/python3
"""tests/ref/gen_train_fixtures.py — torch.optim.SGD and timm's schedulers, for test_train.c.

tests/ref/train.fix (OPFX format, see gen_op_fixtures.py):
  sgd_{nesterov,classic}/init_<i>, grad<k>_<i>, w<k>_<i>  three tensors (two decayed, one not),
     weights after each of 4 steps of torch.optim.SGD(momentum 0.9, weight_decay 5e-4 on the
     decayed group), learning rates lr<k>
  cosine/epochs, cosine/lr   timm CosineLRScheduler(warmup_prefix=True) stepped per update
  step/epochs, step/lr       torch MultiStepLR at epoch starts
  ema_timm/...               timm ModelEmaV3(decay 0.9, use_warmup) over a Linear + BatchNorm1d
     (parameters and running statistics): model<k>_<i> the state before update k (k = 1..6, as
     timm's train.py numbers them), ema<k>_<i> the average after it, init_<i> the first state
Appended (the entries above stay byte for byte):
  <opt>/init_<i>, grad<k>_<i>, lr<k>, w<k>_<i>   6 steps of: adamw_ra4 (torch AdamW, betas 0.6,
     0.995, eps 1e-6), adamw (defaults), rmsprop_tf (timm RMSpropTF, EfficientNetV2's settings),
     rmsprop_tf_w (no momentum, decoupled), lamb (timm Lamb defaults; gradients above and below
     its built-in clip), lamb_adapt_w (always_adapt, decoupled), sgdw (timm SGDW), l2_rmsprop_tf
     and l2_sgd (no optimizer decay; an L2 term in the loss instead)
  cosine_cool/lr, cosine_cool_epochs/lr    timm CosineLRScheduler, warm-up prefix, lr_min, 2
     cool-down epochs; per update (10 a epoch) and per epoch
  exp_tf_{7,10}/lr, exp_timm_{7,10}/lr     EfficientNetV2's exponential staircase per step (7 or
     10 steps an epoch): TF's float32 formula, timm's StepLRScheduler
  exp_floor/lr                             the staircase with minimal_lr
"""
import sys

import numpy as np
import torch
from timm.scheduler import CosineLRScheduler

from opfx import write_opfx

rng = np.random.default_rng(5)
SHAPES = [(6, 3, 3, 2), (6,), (10, 7)]  # conv weight (decay), bias (no decay), linear weight (decay)
DECAY = [True, False, True]


def trajectory(make_opt, wd, lrs, grad_scale=None, l2=0.0):
    """init_<i>, grad<k>_<i>, lr<k>, w<k>_<i>: an optimizer's steps over three tensors, the decayed
    ones in a group with weight decay wd, the other in one without (timm's param_groups_weight_decay).
    l2: an L2 term l2/2 * |w|^2 over the decayed tensors is added to the loss sum(grad * w), as the
    TF recipes add it, so the optimizer sees grad + l2 * w"""
    out = {}
    ws = [torch.tensor(rng.uniform(-1, 1, size=s).astype(np.float32), requires_grad=True) for s in SHAPES]
    for i, w in enumerate(ws):
        out[f"init_{i}"] = w.detach().clone()
    groups = [{"params": [w for w, d in zip(ws, DECAY) if d], "weight_decay": wd},
              {"params": [w for w, d in zip(ws, DECAY) if not d], "weight_decay": 0.0}]
    opt = make_opt(groups)
    for k, lr in enumerate(lrs):
        for gr in opt.param_groups:
            gr["lr"] = lr
        out[f"lr{k}"] = torch.tensor([lr])
        grads = []
        for i, w in enumerate(ws):
            g = torch.tensor(rng.uniform(-1, 1, size=SHAPES[i]).astype(np.float32))
            if grad_scale:
                g = g * grad_scale[k]
            out[f"grad{k}_{i}"] = g
            grads.append(g)
        if l2:
            opt.zero_grad()
            loss = sum((g * w).sum() for g, w in zip(grads, ws))
            loss = loss + l2 / 2 * sum((w * w).sum() for w, d in zip(ws, DECAY) if d)
            loss.backward()
        else:
            for w, g in zip(ws, grads):
                w.grad = g
        opt.step()
        for i, w in enumerate(ws):
            out[f"w{k}_{i}"] = w.detach().clone()
    return out


def sgd(nesterov):
    return trajectory(lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=nesterov),
                      5e-4, [0.1, 0.05, 0.2, 0.01])


def schedules():
    p = torch.nn.Parameter(torch.zeros(1))
    steps_per_epoch, epochs, warmup = 10, 6, 1
    opt = torch.optim.SGD([p], lr=0.4)
    cos = CosineLRScheduler(opt, t_initial=(epochs - warmup) * steps_per_epoch, lr_min=1e-3,
                            warmup_t=warmup * steps_per_epoch, warmup_lr_init=1e-2,
                            warmup_prefix=True, t_in_epochs=False)
    ep, lr = [], []
    for u in range(epochs * steps_per_epoch):
        cos.step_update(u)
        ep.append(u / steps_per_epoch)
        lr.append(opt.param_groups[0]["lr"])
    out = {"cosine/epochs": torch.tensor(ep), "cosine/lr": torch.tensor(lr)}
    # torch's MultiStepLR, as the Random Erasing code steps (x0.1 from 0-based epoch 150 on);
    # timm's MultiStepLRScheduler decays one epoch earlier (bisect on t + 1)
    opt = torch.optim.SGD([p], lr=0.1)
    st = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[150, 225], gamma=0.1)
    ep, lr = [], []
    for e in range(300):
        if e in (0, 1, 149, 150, 151, 224, 225, 299):
            ep.append(e)
            lr.append(opt.param_groups[0]["lr"])
        opt.step()
        st.step()
    out["step/epochs"], out["step/lr"] = torch.tensor(ep, dtype=torch.float64), torch.tensor(lr)
    return out


def ema_timm():
    from timm.utils import ModelEmaV3
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    floats = lambda m: [v for v in m.state_dict().values() if v.is_floating_point()]
    out = {f"init_{i}": v.clone() for i, v in enumerate(floats(model))}
    ema = ModelEmaV3(model, decay=0.9, use_warmup=True)
    for k in range(1, 7):
        with torch.no_grad():
            for v in floats(model):
                v.copy_(torch.tensor(rng.uniform(-1, 1, size=tuple(v.shape)).astype(np.float32)))
        for i, v in enumerate(floats(model)):
            out[f"model{k}_{i}"] = v.clone()
        ema.update(model, step=k)
        for i, v in enumerate(floats(ema.module)):
            out[f"ema{k}_{i}"] = v.clone()
    return out


# ---- appended: the other optimizers, L2 in the loss, schedules with cool-down and decay ----------
# Hyperparameters go through float32 (f32) so both sides use the same numbers; weight decays and
# rates are large enough that a decay or bias correction handled wrongly moves the weights well
# past the tests' 1e-6.

def f32(x):
    return float(np.float32(x))


ADAM_LRS = [f32(x) for x in (0.05, 0.02, 0.1, 0.03, 0.08, 0.01)]
LAMB_SCALE = [1, 0.01, 1, 0.05, 1, 0.01]  # global gradient norm above and below LAMB's 1.0


def optimizers():
    from timm.optim import Lamb, RMSpropTF, SGDW
    adamw = lambda b1, b2, eps: lambda g: torch.optim.AdamW(g, lr=0.1, betas=(f32(b1), f32(b2)), eps=f32(eps),
                                                              foreach=False)
    rms = lambda mom, eps, dec: lambda g: RMSpropTF(g, lr=0.1, alpha=f32(0.9), eps=f32(eps), momentum=f32(mom),
                                                    decoupled_decay=dec, foreach=False)
    sgd_nesterov = lambda g: torch.optim.SGD(g, lr=0.1, momentum=f32(0.9), nesterov=True)
    cases = {
        "adamw_ra4": (adamw(0.6, 0.995, 1e-6), 0.1, {}),  # MobileNetV4 ra4: beta1 0.6
        "adamw": (adamw(0.9, 0.999, 1e-8), 0.1, {}),
        "rmsprop_tf": (rms(0.9, 1e-3, False), 0.1, {}),  # EfficientNetV2: decay 0.9, momentum 0.9, eps 1e-3
        "rmsprop_tf_w": (rms(0.0, 1e-10, True), 0.05, {}),  # no momentum, decoupled (timm's rmsproptfw)
        "lamb": (lambda g: Lamb(g, lr=0.1, foreach=False), 0.05, {"grad_scale": LAMB_SCALE}),
        "lamb_adapt_w": (lambda g: Lamb(g, lr=0.1, always_adapt=True, decoupled_decay=True, foreach=False), 0.05,
                         {"grad_scale": LAMB_SCALE}),
        "sgdw": (lambda g: SGDW(g, lr=0.1, momentum=f32(0.9), nesterov=True, foreach=False), 0.05, {}),
        "l2_rmsprop_tf": (rms(0.9, 1e-3, False), 0.0, {"l2": f32(0.05)}),
        "l2_sgd": (sgd_nesterov, 0.0, {"l2": f32(0.05)}),
    }
    out = {}
    for name, (make, wd, kw) in cases.items():
        for k, v in trajectory(make, f32(wd), ADAM_LRS, **kw).items():
            out[f"{name}/{k}"] = v
    return out


def tf_exponential(step, spe, initial, rate, decay_epochs, warmup_epochs, minimal):
    """EfficientNetV2's WarmupLearningRateSchedule (lr_decay_type 'exponential') at a global step,
    in float32 as TF computes it: ExponentialDecay(staircase=True), then max with minimal_lr, then
    the linear warm-up from 0 over int(warmup_epochs * steps_per_epoch) steps"""
    one = np.float32
    p = np.floor(one(step) / one(spe * decay_epochs))
    lr = one(initial) * np.power(one(rate), p, dtype=np.float32)
    if minimal:
        lr = max(lr, one(minimal))
    warmup = int(warmup_epochs * spe)
    if step < warmup:
        lr = one(initial) * one(step) / one(warmup)
    return float(lr)


def schedules_more():
    from timm.scheduler import StepLRScheduler
    out = {}
    p = torch.nn.Parameter(torch.zeros(1))
    # cosine with a prefix warm-up, lr_min and cool-down, per update and per epoch (timm's factory:
    # t_initial = the cosine's epochs, num_epochs = warmup + t_initial + cooldown)
    spe, warmup, cosine, cool = 10, 2, 6, 2
    for per_step in (True, False):
        opt = torch.optim.SGD([p], lr=f32(0.4))
        n = spe if per_step else 1
        sch = CosineLRScheduler(opt, t_initial=cosine * n, lr_min=f32(1e-3), warmup_t=warmup * n,
                                warmup_lr_init=f32(1e-4), warmup_prefix=True, t_in_epochs=not per_step)
        lr = []
        for t in range((warmup + cosine + cool) * n):
            sch.step_update(t) if per_step else sch.step(t)
            lr.append(opt.param_groups[0]["lr"])
        name = "cosine_cool" if per_step else "cosine_cool_epochs"
        out[f"{name}/lr"] = torch.tensor(lr, dtype=torch.float64)
    # exponential staircase x0.97 every 2.4 epochs after 5 warm-up epochs from 0 (EfficientNetV2),
    # per step: TF's formula and timm's StepLRScheduler (warmup_prefix=False), at two epoch lengths
    for spe in (7, 10):
        opt = torch.optim.SGD([p], lr=f32(0.256))
        sch = StepLRScheduler(opt, decay_t=2.4 * spe, decay_rate=f32(0.97), warmup_t=5 * spe, warmup_lr_init=0,
                              warmup_prefix=False, t_in_epochs=False)
        tf, timm_lr = [], []
        for t in range(30 * spe):
            sch.step_update(t)
            timm_lr.append(opt.param_groups[0]["lr"])
            tf.append(tf_exponential(t, spe, 0.256, 0.97, 2.4, 5, 0))
        out[f"exp_tf_{spe}/lr"] = torch.tensor(tf, dtype=torch.float64)
        out[f"exp_timm_{spe}/lr"] = torch.tensor(timm_lr, dtype=torch.float64)
    # halving every epoch down to minimal_lr 0.01
    out["exp_floor/lr"] = torch.tensor([tf_exponential(t, 10, 0.256, 0.5, 1, 1, 0.01) for t in range(100)],
                                       dtype=torch.float64)
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/train.fix"
    tensors = [(f"sgd_nesterov/{k}", v) for k, v in sgd(True).items()]
    tensors += [(f"sgd_classic/{k}", v) for k, v in sgd(False).items()]
    tensors += list(schedules().items())
    tensors += [(f"ema_timm/{k}", v) for k, v in ema_timm().items()]
    tensors += list(optimizers().items())
    tensors += list(schedules_more().items())
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
