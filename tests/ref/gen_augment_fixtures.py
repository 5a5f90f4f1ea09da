#!/usr/bin/python3
"""tests/ref/gen_augment_fixtures.py — timm 1.0.31 / torchvision / Pillow augmentations, for test_augment.c.

Every random decision is given to the reference code (its random / np.random / torch.randperm
replaced by a feed of listed values), so the fixture holds the deterministic part: given these
decisions, these pixels. test_augment.c feeds the same decisions (or the same uniforms) to the
engine. Two images, img/rgb (12, 16, 3) and img/gray (12, 13, 1), uint8 values stored as floats.

tests/ref/augment.fix (OPFX format, opfx.py):
  resize/<k>/meta    [image, y, x, h, w, oh, ow, filter]   resize/<k>/out  F.resized_crop (PIL)
  rrc/<k>/meta       [h, w, scale0, scale1, ratio0, ratio1] rrc/<k>/u (uniforms fed to random)
                     rrc/<k>/box (y, x, h, w) of RandomResizedCropAndInterpolation.get_params
  ra/<k>/meta        [image, op, magnitude, negate, filter, fill0, fill1, fill2]
                     ra/<k>/out  timm AugmentOp(op, prob 1, magnitude) with the sign coin given
  parse/<k>/str      the string as character codes; parse/<k>/meta [n, p, m, mstd (-1 = uniform),
                     mmax, n_ops, op ids...] of timm's rand_augment_transform
  jitter/<k>/meta    [image, order 4, factors 4, use 4]    jitter/<k>/out  torchvision F.adjust_*
  gray/out           F.rgb_to_grayscale(rgb, 3)
  blur/<k>/meta      [image, sigma]                         blur/<k>/out    F.gaussian_blur(23)
  eval/<k>/meta      [image, res, crop_pct, filter]         eval/<k>/out    transforms_imagenet_eval
  erase/<k>/meta     [h, w, c, p, min_area, max_area, min_aspect, max_count]
                     erase/<k>/u, /x (input, HWC), /out    timm RandomErasing (const) fed u
  mix/<k>/meta       [mode, mixup_alpha, cutmix_alpha, minmax0, minmax1, prob, switch, correct_lam,
                     classes, smoothing, n, h, w, c]; mix/<k>/x, /labels, /dec (rows [mix, cutmix,
                     lambda, y0, y1, x0, x1]), /out, /targets   timm Mixup with its draws given
  mixbox/<k>/meta    [h, w, lam, minmax0, minmax1, correct], /u (4), /box [y0, y1, x0, x1, lam]
  repeat/<k>/meta    [n, repeats, world, rank]; /perm; /index  timm RepeatAugSampler on perm
Filters: 0 bilinear, 1 bicubic. Op ids: OPS below, randaug.h's RaOp order.
"""
import math
import sys
import types

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

import timm.data.auto_augment as aa
import timm.data.distributed_sampler as ds
import timm.data.mixup as mx
import timm.data.random_erasing as re_mod
import timm.data.transforms as tr
from timm.data.transforms_factory import transforms_imagenet_eval

from opfx import write_opfx

OPS = ["AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "PosterizeIncreasing", "Solarize",
       "SolarizeIncreasing", "SolarizeAdd", "Color", "ColorIncreasing", "Contrast", "ContrastIncreasing",
       "Brightness", "BrightnessIncreasing", "Sharpness", "SharpnessIncreasing", "ShearX", "ShearY",
       "TranslateXRel", "TranslateYRel", "TranslateX", "TranslateY", "Cutout"]
PIL_FILTER = [Image.BILINEAR, Image.BICUBIC]
TV_FILTER = [InterpolationMode.BILINEAR, InterpolationMode.BICUBIC]
MEAN = {"rgb": (0.485, 0.456, 0.406), "gray": (0.2860,)}
STD = {"rgb": (0.229, 0.224, 0.225), "gray": (0.3530,)}
f32 = lambda v: float(np.float32(v))  # the value as the engine's float holds it

rng = np.random.RandomState(7)


def make_images():
    y, x = np.mgrid[0:12, 0:16]
    base = np.stack([x * 14 + y * 3, 200 - y * 15 + x * 2, (x * y * 5) % 256], -1)
    rgb = np.clip(base + rng.randint(-30, 30, size=base.shape), 0, 255).astype(np.uint8)
    yg, xg = np.mgrid[0:12, 0:13]
    gray = np.clip(40 + xg * 12 + yg * 7 + rng.randint(-25, 25, size=xg.shape), 0, 255).astype(np.uint8)
    return {"rgb": rgb, "gray": gray[..., None]}


IMG = make_images()
IMAGE_ID = {"rgb": 0, "gray": 1}


def pil(name):
    a = IMG[name]
    return Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)


def arr(im):
    a = np.asarray(im, dtype=np.float32)
    return a[..., None] if a.ndim == 2 else a


class Feed:
    """random / np.random replacements that return listed uniforms (and Beta values) in order"""

    def __init__(self, u, beta=()):
        self.u, self.beta, self.k, self.kb = list(u), list(beta), 0, 0

    def _next(self):
        v = self.u[self.k]
        self.k += 1
        return v

    # Python's random
    def random(self):
        return self._next()

    def uniform(self, a, b):
        return a + (b - a) * self._next()

    def randint_incl(self, a, b):
        return a + min(int(self._next() * (b - a + 1)), b - a)

    # numpy's np.random
    def rand(self, size=None):
        return self._next() if size is None else np.array([self._next() for _ in range(size)])

    def np_randint(self, low, high, size=None):
        one = lambda: low + min(int(self._next() * (high - low)), high - low - 1)
        return one() if size is None else np.array([one() for _ in range(size)])

    def np_beta(self, a, b, size=None):
        def one():
            v = self.beta[self.kb]
            self.kb += 1
            return v
        return one() if size is None else np.array([one() for _ in range(size)])


def python_random(feed):
    return types.SimpleNamespace(random=feed.random, uniform=feed.uniform, randint=feed.randint_incl,
                                 choice=lambda s: s[min(int(feed._next() * len(s)), len(s) - 1)],
                                 gauss=None)


def numpy_with(feed):
    fake = types.SimpleNamespace(rand=feed.rand, randint=feed.np_randint, beta=feed.np_beta)
    names = {k: getattr(np, k) for k in dir(np) if not k.startswith("__") and k != "random"}
    return types.SimpleNamespace(**names, random=fake)


def resize_cases(out):
    cases = [("rgb", 2, 3, 9, 11, 6, 7, 0), ("rgb", 1, 0, 10, 13, 15, 19, 1), ("rgb", 0, 0, 12, 16, 5, 4, 1),
             ("rgb", 3, 5, 6, 8, 6, 8, 0), ("gray", 1, 2, 10, 9, 16, 14, 0), ("gray", 0, 1, 12, 11, 7, 5, 1),
             ("rgb", 0, 4, 12, 9, 12, 5, 0)]
    for k, (name, y, x, h, w, oh, ow, flt) in enumerate(cases):
        r = F.resized_crop(pil(name), y, x, h, w, [oh, ow], TV_FILTER[flt])
        out += [(f"resize/{k}/meta", np.array([IMAGE_ID[name], y, x, h, w, oh, ow, flt])),
                (f"resize/{k}/out", arr(r))]


def rrc_cases(out):
    cases = [(12, 16, 0.08, 1.0, 3 / 4, 4 / 3), (224, 160, 0.08, 1.0, 3 / 4, 4 / 3), (28, 28, 0.35, 1.0, 3 / 4, 4 / 3),
             (20, 20, 0.9, 1.0, 2.5, 3.0), (20, 30, 0.95, 1.0, 0.2, 0.25), (15, 15, 0.5, 0.6, 0.9, 1.1)]
    for k, (h, w, s0, s1, r0, r1) in enumerate(cases):
        u = rng.uniform(size=48).astype(np.float32)
        feed = Feed(u.astype(np.float64))
        tr.random = python_random(feed)
        img = Image.new("RGB", (w, h))
        box = tr.RandomResizedCropAndInterpolation.get_params(img, (f32(s0), f32(s1)), (f32(r0), f32(r1)))
        out += [(f"rrc/{k}/meta", np.array([h, w, s0, s1, r0, r1])), (f"rrc/{k}/u", u),
                (f"rrc/{k}/box", np.array(box))]


def ra_cases(out):
    cases = []
    for k, op in enumerate(OPS[:21]):  # the timm ops, each on both images, varied arguments
        cases.append(("rgb", op, [9, 7.3, 10, 4.6, 2][k % 5], k % 2, (k // 2) % 2))
        cases.append(("gray", op, [5.5, 8, 3, 10, 6.1][k % 5], (k + 1) % 2, (k // 3) % 2))
    cases += [("rgb", "Rotate", 10, 0, 1), ("rgb", "Rotate", 0, 0, 0), ("rgb", "ShearY", 10, 1, 0),
              ("gray", "TranslateXRel", 10, 0, 1), ("rgb", "Posterize", 0, 0, 0), ("rgb", "Solarize", 10, 0, 0)]
    for k, (name, op, m, neg, flt) in enumerate(cases):
        fill = tuple(min(255, round(255 * x)) for x in MEAN[name])
        aa.random = types.SimpleNamespace(random=lambda neg=neg: 0.9 if neg else 0.1)
        f = aa.AugmentOp(op, prob=1.0, magnitude=m, hparams=dict(img_mean=fill, interpolation=PIL_FILTER[flt]))
        r = f(pil(name))
        meta = [IMAGE_ID[name], OPS.index(op), m, neg, flt] + list(fill) + [0] * (3 - len(fill))
        out += [(f"ra/{k}/meta", np.array(meta)), (f"ra/{k}/out", arr(r))]


def parse_cases(out):
    strings = ["rand-m9-mstd0.5-inc1", "rand-m8-inc1-mstd1.0", "rand-m9-mstd0.5", "rand-m7-n3-p0.8",
               "rand-mstd101-m5", "rand-m12-mmax15-inc1", "rand", "rand-n1-inc0", "rand-m15"]
    for k, s in enumerate(strings):
        t = aa.rand_augment_transform(s, {})
        op0 = t.ops[0]
        mstd = op0.magnitude_std
        meta = [t.num_layers, op0.prob, op0.magnitude, -1 if math.isinf(mstd) else mstd, op0.magnitude_max or 10,
                len(t.ops)] + [OPS.index(o.name) for o in t.ops]
        out += [(f"parse/{k}/str", np.array([ord(ch) for ch in s])), (f"parse/{k}/meta", np.array(meta))]


def jitter_cases(out):
    cases = [("rgb", [2, 0, 3, 1], [1.3, 0.7, 1.6, -0.08], [1, 1, 1, 1]),
             ("rgb", [3, 1, 0, 2], [0.65, 1.4, 0.2, 0.25], [1, 1, 1, 1]),
             ("rgb", [1, 2, 0, 3], [1.25, 0.8, 0.9, 0.0], [1, 1, 1, 0]),
             ("gray", [1, 3, 2, 0], [1.2, 0.6, 1.5, 0.1], [1, 1, 1, 1])]
    adjust = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    for k, (name, order, factors, use) in enumerate(cases):
        img = pil(name)
        for op in order:
            if use[op]:
                img = adjust[op](img, f32(factors[op]))
        out += [(f"jitter/{k}/meta", np.array([IMAGE_ID[name]] + order + factors + use)),
                (f"jitter/{k}/out", arr(img))]


def gray_blur_cases(out):
    out.append(("gray/out", arr(F.rgb_to_grayscale(pil("rgb"), 3))))
    for k, (name, sigma) in enumerate([("rgb", 0.1), ("rgb", 1.37), ("gray", 2.0), ("gray", 0.63)]):
        s = f32(sigma)
        out += [(f"blur/{k}/meta", np.array([IMAGE_ID[name], s])),
                (f"blur/{k}/out", arr(F.gaussian_blur(pil(name), [23, 23], [s, s])))]


def eval_cases(out):
    for k, (name, res, pct, flt) in enumerate([("rgb", 8, 0.875, 0), ("rgb", 10, 0.95, 1), ("gray", 9, 0.9, 1),
                                               ("gray", 12, 1.0, 0), ("rgb", 5, 0.5, 1)]):
        t = transforms_imagenet_eval(img_size=res, crop_pct=f32(pct), interpolation=["bilinear", "bicubic"][flt],
                                     mean=MEAN[name], std=STD[name])
        y = t(pil(name)).permute(1, 2, 0)
        out += [(f"eval/{k}/meta", np.array([IMAGE_ID[name], res, pct, flt])), (f"eval/{k}/out", y)]


def erase_cases(out):
    cases = [(10, 12, 3, 1.0, 0.02, 1 / 3, 0.3, 1), (10, 12, 3, 1.0, 0.02, 1 / 3, 0.3, 3),
             (9, 7, 1, 1.0, 0.1, 0.4, 0.5, 4), (10, 12, 3, 0.5, 0.02, 1 / 3, 0.3, 1),
             (8, 8, 1, 1.0, 0.9, 0.95, 0.1, 2)]
    for k, (h, w, c, p, a0, a1, asp, cnt) in enumerate(cases):
        u = rng.uniform(size=2 + cnt * 40).astype(np.float32)
        if k == 3:
            u[0] = 0.7  # above p: no erasing
        x = torch.tensor(rng.normal(size=(c, h, w)).astype(np.float32))
        re_mod.random = python_random(Feed(u.astype(np.float64)))
        e = re_mod.RandomErasing(probability=f32(p), min_area=f32(a0), max_area=f32(a1), min_aspect=f32(asp),
                                 mode="const", max_count=cnt, device="cpu")
        y = e(x.clone())
        out += [(f"erase/{k}/meta", np.array([h, w, c, p, a0, a1, asp, cnt])), (f"erase/{k}/u", u),
                (f"erase/{k}/x", x.permute(1, 2, 0)), (f"erase/{k}/out", y.permute(1, 2, 0))]


def mix_cases(out):
    # mode, mixup alpha, cutmix alpha, minmax, prob, switch, correct_lam
    cases = [("batch", 0.8, 1.0, None, 1.0, 0.5, True, [0.3, 0.2]), ("batch", 0.8, 1.0, None, 1.0, 0.5, True, [0.3, 0.7]),
             ("batch", 0.0, 1.0, None, 1.0, 0.5, False, [0.1]), ("batch", 0.2, 0.0, None, 0.6, 0.5, True, [0.7]),
             ("pair", 0.8, 1.0, None, 0.8, 0.5, True, None), ("elem", 0.8, 1.0, None, 0.7, 0.4, True, None),
             ("elem", 0.0, 1.0, (0.2, 0.8), 1.0, 0.5, True, None), ("batch", 1.0, 0.0, None, 1.0, 0.5, True, [0.5])]
    n, c, h, w, classes, smoothing = 6, 2, 7, 9, 5, 0.1
    for k, (mode, ma, ca, mm, prob, sw, corr, u_head) in enumerate(cases):
        u = rng.uniform(size=64)
        if u_head:
            u[:len(u_head)] = u_head
        betas = rng.uniform(0.05, 0.95, size=16)
        feed = Feed(u.astype(np.float32).astype(np.float64), betas.astype(np.float32).astype(np.float64))
        mx.np = numpy_with(feed)
        rec = {"params": None, "boxes": []}
        box_fn = mx.cutmix_bbox_and_lam

        def record_box(*a, **kw):
            r = box_fn(*a, **kw)
            rec["boxes"].append(r)
            return r
        mx.cutmix_bbox_and_lam = record_box
        m = mx.Mixup(mixup_alpha=ma, cutmix_alpha=ca, cutmix_minmax=mm, prob=prob, switch_prob=sw, mode=mode,
                     correct_lam=corr, label_smoothing=smoothing, num_classes=classes)
        for fn in ("_params_per_batch", "_params_per_elem"):
            orig = getattr(m, fn)

            def wrapped(*a, orig=orig):
                r = orig(*a)
                rec["params"] = r
                return r
            setattr(m, fn, wrapped)
        x = torch.tensor(rng.normal(size=(n, c, h, w)).astype(np.float32))
        labels = torch.tensor(rng.randint(0, classes, size=n))
        y, t = m(x.clone(), labels)
        mx.cutmix_bbox_and_lam = box_fn
        lam, cut = rec["params"]
        lam, cut = np.atleast_1d(lam).astype(np.float64), np.atleast_1d(cut)
        boxes = iter(rec["boxes"])
        dec = []
        for i in range(len(lam)):
            mix = lam[i] != 1.0
            row = [float(mix), float(mix and cut[i]), lam[i], 0, 0, 0, 0]
            if mix and cut[i]:
                (y0, y1, x0, x1), lam_c = next(boxes)
                row[2:] = [lam_c, y0, y1, x0, x1]
            dec.append(row)
        meta = [["batch", "pair", "elem"].index(mode), ma, ca, *(mm or (0, 0)), prob, sw, corr, classes, smoothing,
                n, h, w, c]
        out += [(f"mix/{k}/meta", np.array(meta)), (f"mix/{k}/x", x.permute(0, 2, 3, 1)),
                (f"mix/{k}/labels", labels.numpy()), (f"mix/{k}/dec", np.array(dec)),
                (f"mix/{k}/out", y.permute(0, 2, 3, 1)), (f"mix/{k}/targets", t)]
    mx.np = np


def mixbox_cases(out):
    for k, (h, w, lam, mm, corr) in enumerate([(7, 9, 0.6, None, True), (32, 32, 0.31, None, False),
                                               (12, 10, 0.05, None, True), (32, 28, 0.5, (0.2, 0.8), False),
                                               (11, 13, 0.9, (0.3, 0.6), True)]):
        u = rng.uniform(size=4).astype(np.float32)
        mx.np = numpy_with(Feed(u.astype(np.float64)))
        (y0, y1, x0, x1), lam_c = mx.cutmix_bbox_and_lam((3, h, w), lam, ratio_minmax=mm, correct_lam=corr)
        mx.np = np
        out += [(f"mixbox/{k}/meta", np.array([h, w, lam, *(mm or (0, 0)), corr])), (f"mixbox/{k}/u", u),
                (f"mixbox/{k}/box", np.array([y0, y1, x0, x1, lam_c]))]


def repeat_cases(out):
    for k, (n, r, world, rank) in enumerate([(10, 3, 1, 0), (10, 3, 2, 1), (300, 3, 4, 2), (20, 2.5, 3, 0),
                                             (7, 1, 2, 1), (260, 2, 1, 0)]):
        perm = np.random.RandomState(n).permutation(n)
        ds.torch = types.SimpleNamespace(**{a: getattr(torch, a) for a in ("Generator", "arange", "tensor", "long",
                                                                           "repeat_interleave")},
                                         randperm=lambda m, generator=None, p=perm: torch.tensor(p))
        s = ds.RepeatAugSampler(list(range(n)), num_replicas=world, rank=rank, shuffle=True, num_repeats=r)
        out += [(f"repeat/{k}/meta", np.array([n, r, world, rank])), (f"repeat/{k}/perm", perm),
                (f"repeat/{k}/index", np.array(list(iter(s))))]
    ds.torch = torch


def main(path):
    out = [("img/rgb", IMG["rgb"]), ("img/gray", IMG["gray"])]
    for f in (resize_cases, rrc_cases, ra_cases, parse_cases, jitter_cases, gray_blur_cases, eval_cases,
              erase_cases, mix_cases, mixbox_cases, repeat_cases):
        f(out)
    write_opfx(path, out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/ref/augment.fix")
