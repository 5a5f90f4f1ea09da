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
"""
import sys

import numpy as np
import torch
from timm.scheduler import CosineLRScheduler

from opfx import write_opfx

rng = np.random.default_rng(5)
SHAPES = [(6, 3, 3, 2), (6,), (10, 7)]  # conv weight (decay), bias (no decay), linear weight (decay)
DECAY = [True, False, True]


def sgd(nesterov):
    out = {}
    ws = [torch.tensor(rng.uniform(-1, 1, size=s).astype(np.float32), requires_grad=True) for s in SHAPES]
    for i, w in enumerate(ws):
        out[f"init_{i}"] = w.detach().clone()
    groups = [{"params": [w for w, d in zip(ws, DECAY) if d], "weight_decay": 5e-4},
              {"params": [w for w, d in zip(ws, DECAY) if not d], "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=nesterov)
    for k in range(4):
        lr = [0.1, 0.05, 0.2, 0.01][k]
        for gr in opt.param_groups:
            gr["lr"] = lr
        out[f"lr{k}"] = torch.tensor([lr])
        for i, w in enumerate(ws):
            g = torch.tensor(rng.uniform(-1, 1, size=SHAPES[i]).astype(np.float32))
            w.grad = g
            out[f"grad{k}_{i}"] = g
        opt.step()
        for i, w in enumerate(ws):
            out[f"w{k}_{i}"] = w.detach().clone()
    return out


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


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/ref/train.fix"
    tensors = [(f"sgd_nesterov/{k}", v) for k, v in sgd(True).items()]
    tensors += [(f"sgd_classic/{k}", v) for k, v in sgd(False).items()]
    tensors += list(schedules().items())
    tensors += [(f"ema_timm/{k}", v) for k, v in ema_timm().items()]
    write_opfx(path, tensors)
    print(f"{path}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
