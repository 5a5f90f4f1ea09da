#!/usr/bin/python3
"""tests/ref/gen_progressive_fixtures.py — EfficientNetV2's progressive-learning stages, for
test_progressive.c: the released code's rule as google/automl efficientnetv2/main.py computes it,
and the paper's (Table 6) as np.linspace, written without the engine's code.

tests/ref/progressive.fix (OPFX format, see opfx.py), per case <case>:
  <case>/args    (16,)  rule (0 paper, 1 code), stages S, total steps T, res_min, res_max, model.res,
                        randaug_min, randaug_max, mixup_min, mixup_max, dropout_min, dropout_max, and
                        the recipe's own data.randaug magnitude, data.mixup_alpha, data.cutmix_alpha,
                        model.dropout
  <case>/stages  (S, 6) per stage: image size, RandAugment magnitude, Mixup alpha, CutMix alpha,
                        dropout, the step it ends before (main.py's max_steps)
  <case>/probe   (P, 2) global step, the stage (0-based) it trains in: every step up to T (and T
                        itself) for small T, else the steps around every boundary

main.py (snapshot 8a1c443b), with train.stages = S and train.sched = True:
    ram_list = np.linspace(5, config.data.ram, total_stages)
    mixup_list = np.linspace(0, config.data.mixup_alpha, total_stages)
    cutmix_list = np.linspace(0, config.data.cutmix_alpha, total_stages)
    ibase = config.data.ibase or (input_image_size / 2)          # hparams.py: data.ibase = 128
    for stage in range(curr_step // train_steps, total_stages):
      ratio = float(stage + 1) / float(total_stages)
      max_steps = int(ratio * train_steps)
      image_size = int(ibase + (input_image_size - ibase) * ratio)
      config.data.ram = ram_list[stage]; config.data.mixup_alpha = mixup_list[stage]
      config.data.cutmix_alpha = cutmix_list[stage]              # dropout: commented out
      est.train(..., max_steps=max_steps)   # trains the global steps below max_steps not yet done
The code cases map data.ibase to res_min, train.isize to res_max, 5 to randaug_min, 0 to
mixup_min, data.ram to randaug_max, data.mixup_alpha (= cutmix_alpha in effnetv2_configs.py) to
mixup_max. The paper's rule: every quantity np.linspace(min, max, S)[k], the size truncated by
int(); a quantity with min = max = 0 keeps the recipe's value. Recipe values are float32 in the
engine, so ranges are given here as float32 too (np.float32(0.2), not 0.2).
"""
import sys

import numpy as np

from opfx import write_opfx

f32 = lambda v: float(np.float32(v))


def code_case(S, T, ibase, train_size, eval_size, ram, mix, dropout):
    ram_list = np.linspace(5, ram, S)
    mixup_list = np.linspace(0, mix, S)
    cutmix_list = np.linspace(0, mix, S)
    rows = []
    for stage in range(S):
        ratio = float(stage + 1) / float(S)
        max_steps = int(ratio * T)
        image_size = int(ibase + (train_size - ibase) * ratio)
        rows.append([image_size, ram_list[stage], mixup_list[stage], cutmix_list[stage], dropout, max_steps])
    args = [1, S, T, ibase, train_size, eval_size, 5, ram, 0, mix, 0, 0, ram, mix, mix, dropout]
    return args, rows


def paper_case(S, T, res, ra, mix, dp, model_res, base_ra, base_dropout):
    """res, ra, mix, dp: (min, max) pairs; (0, 0) = not scheduled"""
    lin = lambda r, k: np.linspace(r[0], r[1], S)[k]
    rows = []
    for k in range(S):
        ratio = float(k + 1) / float(S)
        rows.append([int(lin(res, k)),
                     lin(ra, k) if ra != (0, 0) else base_ra,
                     lin(mix, k) if mix != (0, 0) else 0,
                     0,  # data.cutmix_alpha off: the schedule is Mixup's (Table 6)
                     lin(dp, k) if dp != (0, 0) else base_dropout,
                     int(ratio * T)])
    args = [0, S, T, res[0], res[1], model_res, ra[0], ra[1], mix[0], mix[1], dp[0], dp[1], base_ra, 0, 0,
            base_dropout]
    return args, rows


def probes(rows, T):
    ends = [r[5] for r in rows]
    stage_of = lambda g: next((i for i, e in enumerate(ends) if g < e), len(ends) - 1)
    if T <= 64:
        steps = list(range(T + 1))
    else:
        steps = sorted({s for e in ends for s in (e - 1, e, e + 1) if 0 <= s <= T} | {0, T - 1, T})
    return [[g, stage_of(g)] for g in steps]


def main(path):
    ds = f32(0.2)  # model.dropout of V2-S
    cases = {
        # the released code, effnetv2_configs.py's V2 models; ImageNet: 350 epochs of 1 256 144
        # images at batch 4096 = 107 336 steps (main.py: epochs * num_train_images // batch_size)
        "code_s": code_case(4, 350 * 1256144 // 4096, 128, 300, 384, 10, 0, ds),
        "code_m": code_case(4, 350 * 1256144 // 4096, 128, 384, 480, 15, f32(0.2), f32(0.3)),
        "code_l": code_case(4, 350 * 1256144 // 4096, 128, 384, 480, 20, f32(0.5), f32(0.4)),
        # rounding of the boundaries: T not a multiple of S, S = 3 (ratio 1/3 inexact), T < S
        "code_t10": code_case(4, 10, 128, 300, 384, 10, 0, ds),
        "code_t13_s3": code_case(3, 13, 16, 28, 28, 10, f32(0.5), 0),
        "code_t3": code_case(4, 3, 16, 28, 28, 10, f32(0.2), 0),
        "code_tiny": code_case(4, 48, 16, 28, 28, 10, f32(0.2), 0),
        # the paper, Table 6 (S, M, L min/max; train 350 epochs)
        "paper_s": paper_case(4, 350 * 1256144 // 4096, (128, 300), (5, 15), (0, 0), (f32(0.1), f32(0.3)), 384,
                              10, ds),
        "paper_m": paper_case(4, 350 * 1256144 // 4096, (128, 380), (5, 20), (0, f32(0.2)), (f32(0.1), f32(0.4)),
                              480, 15, f32(0.3)),
        "paper_l": paper_case(4, 350 * 1256144 // 4096, (128, 380), (5, 25), (0, f32(0.4)), (f32(0.1), f32(0.5)),
                              480, 20, f32(0.4)),
        "paper_tiny": paper_case(4, 48, (16, 28), (5, 10), (0, f32(0.2)), (f32(0.1), f32(0.3)), 28, 10, 0),
        "paper_t7_s3": paper_case(3, 7, (17, 29), (0, 0), (0, 0), (0, f32(0.25)), 32, 9, f32(0.05)),
    }
    tensors = []
    for name, (args, rows) in cases.items():
        T = args[2]
        tensors.append((f"{name}/args", np.array(args, dtype=np.float64)))
        tensors.append((f"{name}/stages", np.array(rows, dtype=np.float64)))
        tensors.append((f"{name}/probe", np.array(probes(rows, T), dtype=np.float64)))
    write_opfx(path, tensors)
    for name, (args, rows) in cases.items():
        print(name, [(r[0], round(float(r[1]), 4), round(float(r[2]), 4), r[5]) for r in rows])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/ref/progressive.fix")
