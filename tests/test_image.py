#!/usr/bin/python3
"""tests/test_image.py — engine/io/image.h against Pillow (the same libjpeg-turbo underneath).

Writes its own images with Pillow (RGB at 4:2:0, 4:2:2 and 4:4:4, quality 75 to 95, progressive,
optimized, odd sizes, grayscale, CMYK, a PNG with alpha named .JPEG, a smooth photograph-like
image) plus a few files of each shared photograph set when make data has unpacked them (data/),
and checks through bin/image_tool:
  - a full-scale decode equals Pillow's Image.open(f).convert(mode) bit for bit, RGB and L, whole
    and in windows (only their rows and columns decoded), including CMYK's conversion;
  - a DCT-scaled decode (1/2, 1/4, 1/8) equals Pillow's draft-mode decode at that scale bit for
    bit, and its windows equal the same part of it;
  - RandomResizedCrop's pixels (augment_crop_encoded: the window decoded at a DCT scale, then
    resized): equal to Pillow's full decode + crop + resize (torchvision's resized_crop) when no
    scale applies, and within 2/255 per pixel on average when one does (photographs: the smooth
    image and the shared sets' files; the largest single difference is printed);
  - the eval transform of a file (augment_eval_encoded) equals timm's create_transform(...,
    is_training=False) (Resize of the shorter side to floor(res / crop_pct), CenterCrop, ToTensor)
    within 1/255 (when timm is importable from $PYSITE);
  - PNGs (palette with transparency, 1-bit, gray + alpha, 16-bit RGB, a gAMA chunk) as Pillow
    converts them, and a JPEG with extraneous bytes before a marker (a warning, read as Pillow does);
  - truncated data, a 0-byte file and a text file are a one-line error, exit 1, never a crash.
Prints one line per case and a summary; exit 1 when a case failed.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "bin", "image_tool")
passed = failed = 0
SCRATCH = None  # the test's temporary folder: every output of image_tool goes there


def ok(msg):
    global passed
    passed += 1
    print(f"ok    {msg}")


def fail(msg):
    global failed
    failed += 1
    print(f"FAIL  {msg}")


def tool(*args):
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)


def decode(path, c, denom=1, win=None):
    """the engine's decode as an array (h, w, c), or the completed process when it failed"""
    out = os.path.join(SCRATCH, "decoded.raw")  # never beside the file: data/ is read-only to tests
    r = tool("decode", path, out, c, denom, *(win or ()))
    if r.returncode:
        return r
    h, w, cc = map(int, r.stdout.split())
    return np.fromfile(out, dtype=np.uint8).reshape(h, w, cc)


def pil(path, mode):
    a = np.asarray(Image.open(path).convert(mode))
    return a[..., None] if a.ndim == 2 else a


def write_png16(path, rgb16):
    """a 16-bit RGB PNG (Pillow cannot write one), by hand: IHDR, one IDAT, IEND"""
    import struct
    import zlib
    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def gama_chunk(gamma):
    from PIL import PngImagePlugin
    import struct
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", int(gamma * 100000)))
    return info


def images(tmp):
    """(name, path) of the images written here"""
    rng = np.random.default_rng(3)
    # smooth content with edges, so that subsampling and quantization matter
    yy, xx = np.mgrid[0:67, 0:93]
    base = np.stack([(xx * 3 + yy) % 256, (yy * 4) % 256, ((xx - yy) * 5) % 256], -1).astype(np.uint8)
    base = np.clip(base.astype(int) + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
    out = []
    for name, kw in [("rgb 4:2:0 q75", dict(quality=75, subsampling=2)),
                     ("rgb 4:2:2 q90", dict(quality=90, subsampling=1)),
                     ("rgb 4:4:4 q95", dict(quality=95, subsampling=0)),
                     ("rgb progressive", dict(quality=80, progressive=True)),
                     ("rgb optimized", dict(quality=85, optimize=True))]:
        p = os.path.join(tmp, name.replace(" ", "_").replace(":", "") + ".jpg")
        Image.fromarray(base).save(p, **kw)
        out.append((name, p))
    p = os.path.join(tmp, "odd.jpg")  # sizes that are no multiple of the 16-pixel MCU
    Image.fromarray(base[:37, :53]).save(p, quality=75)
    out.append(("rgb 37x53", p))
    p = os.path.join(tmp, "gray.jpg")
    Image.fromarray(base[..., 1]).save(p, quality=80)
    out.append(("grayscale", p))
    p = os.path.join(tmp, "cmyk.jpg")
    Image.fromarray(base).convert("CMYK").save(p, quality=90)
    out.append(("cmyk", p))
    # a smooth photograph-like image: soft blobs of colour over a gradient, light noise
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float64)
    img = np.stack([xx / 320 * 160 + 40, yy / 240 * 120 + 60, 200 - xx / 320 * 100], -1)
    for cy, cx, r, col in ((80, 100, 40, (220, 40, 40)), (150, 230, 60, (30, 160, 60)), (60, 260, 25, (240, 220, 30))):
        w = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - w) + np.array(col) * w
    img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    p = os.path.join(tmp, "smooth.jpg")
    Image.fromarray(img).save(p, quality=90)
    out.append(("smooth 320x240", p))
    p = os.path.join(tmp, "png_named.JPEG")
    Image.fromarray(np.dstack([base, (base[..., :1] // 2)])).save(p, format="PNG")
    out.append(("png named .JPEG (alpha)", p))
    # PNGs as Pillow converts them: a palette with transparency, 1-bit, gray + alpha, 16-bit RGB
    # (its high byte), a gAMA chunk of 1.0 (no gamma applied)
    p = os.path.join(tmp, "palette.png")
    Image.fromarray(base).quantize(64).save(p, transparency=3)
    out.append(("png palette + tRNS", p))
    p = os.path.join(tmp, "bits1.png")
    Image.fromarray(base[..., 0]).convert("1").save(p)
    out.append(("png 1-bit", p))
    p = os.path.join(tmp, "la.png")
    Image.fromarray(np.dstack([base[..., 1], base[..., 2]]), "LA").save(p)
    out.append(("png gray + alpha", p))
    p = os.path.join(tmp, "rgb16.png")
    write_png16(p, base.astype(np.uint16) * 257 + rng.integers(0, 256, base.shape).astype(np.uint16))
    out.append(("png 16-bit RGB", p))
    p = os.path.join(tmp, "gamma.png")
    Image.fromarray(base).save(p, pnginfo=gama_chunk(1.0))
    out.append(("png gAMA 1.0", p))
    # a JPEG with garbage between two markers: libjpeg warns ("extraneous bytes"), Pillow reads it
    p = os.path.join(tmp, "extraneous.jpg")
    b = open(out[0][1], "rb").read()
    k = b.index(b"\xff\xdb")  # the first DQT marker
    open(p, "wb").write(b[:k] + b"\x00\x01\x02" + b[k:])
    out.append(("jpeg with extraneous bytes", p))
    # a few files of the shared sets, when `make data` has unpacked them
    for d in ("data/imagenette-160/val", "data/cifar10/test", "data/imagenette-160/train"):
        root = os.path.join(ROOT, d)
        if os.path.isdir(root):
            cls = sorted(os.listdir(root))[0]
            for f in sorted(os.listdir(os.path.join(root, cls)))[:3]:
                out.append((f"{d.split('/')[1]} {f}", os.path.join(root, cls, f)))
    return out


def crop_cases(name, p):
    """RandomResizedCrop boxes of p through augment_crop_encoded against Pillow's crop + resize"""
    im = Image.open(p).convert("RGB")
    W, H = im.size
    rng = np.random.default_rng(len(name))
    photo = "smooth" in name or "imagenette" in name or "cifar" in name
    cases = [(H, W, max(1, H // 5), max(1, W // 5)), (H // 2, W // 3, max(1, H // 8), max(1, W // 8))]
    for k in range(6):  # output sizes that take scale 1, 2 and 4 in turn
        bh, bw = int(rng.integers(max(1, H // 3), H + 1)), int(rng.integers(max(1, W // 3), W + 1))
        div = (2, 5, 9)[k % 3]
        cases.append((bh, bw, max(1, bh // div - int(rng.integers(0, 3))), max(1, bw // div - int(rng.integers(0, 3)))))
    for i, (bh, bw, oh, ow) in enumerate(cases):
        y, x = int(rng.integers(0, H - bh + 1)), int(rng.integers(0, W - bw + 1))
        filt = ("bilinear", "bicubic")[i % 2]
        out = os.path.join(SCRATCH, "crop.raw")
        r = tool("crop", p, out, y, x, bh, bw, oh, ow, filt)
        if r.returncode:
            fail(f"{name} crop: {r.stderr.strip()}")
            continue
        d = int(r.stdout.split()[3])
        got = np.fromfile(out, np.uint8).reshape(oh, ow, 3).astype(int)
        ref = np.asarray(im.crop((x, y, x + bw, y + bh)).resize((ow, oh), getattr(Image, filt.upper()))).astype(int)
        diff = np.abs(got - ref)
        what = f"{name}: crop ({y},{x}) {bh}x{bw} -> {oh}x{ow} {filt}"
        if d == 1:
            (ok if diff.max() == 0 else fail)(f"{what}: full scale, equals Pillow's crop + resize "
                                              f"(max difference {diff.max()})")
        elif photo:
            (ok if diff.mean() <= 2 else fail)(f"{what}: decoded at 1/{d}, mean difference {diff.mean():.2f}/255 "
                                               f"(<= 2) from Pillow's full decode + crop + resize, max {diff.max()}")
        else:  # random-noise content: the DCT's low-pass differs from the resize's; a sanity bound
            (ok if diff.mean() <= 12 else fail)(f"{what}: decoded at 1/{d} (noise content), mean difference "
                                                f"{diff.mean():.2f}, max {diff.max()}")


def timm_eval():
    """timm's create_transform, or None when timm is not importable"""
    site = os.environ.get("PYSITE", os.path.join(ROOT, "build", "pysite"))
    if os.path.isdir(site) and site not in sys.path:
        sys.path.insert(0, site)
    try:
        from timm.data import create_transform
        return create_transform
    except Exception:
        return None


def eval_cases(name, p):
    """augment_eval_encoded against timm's eval transform"""
    ct = timm_eval()
    if ct is None:
        print(f"skip  {name}: eval transform (timm not importable; make pysite)")
        return
    im = Image.open(p).convert("RGB")
    for res, crop_pct, filt in ((max(8, min(im.size) * 3 // 4), 0.875, "bicubic"), (min(im.size), 1.0, "bilinear"),
                                (min(im.size) + 7, 0.95, "bicubic")):
        out = os.path.join(SCRATCH, "eval.raw")
        r = tool("eval", p, out, res, crop_pct, filt)
        if r.returncode:
            fail(f"{name} eval: {r.stderr.strip()}")
            continue
        got = np.fromfile(out, np.float32).reshape(res, res, 3)
        t = ct(input_size=(3, res, res), is_training=False, crop_pct=crop_pct, interpolation=filt,
               mean=(0, 0, 0), std=(1, 1, 1))
        ref = t(im).numpy().transpose(1, 2, 0)
        diff = np.abs(got - ref).max() * 255
        (ok if ref.shape == got.shape and diff <= 1 + 1e-3 else fail)(
            f"{name}: eval {res} px crop_pct {crop_pct} {filt} equals timm's transform within {diff:.3f}/255 (<= 1)")


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"FAIL  {TOOL} missing (make bin/image_tool)")
        return 1
    global SCRATCH
    with tempfile.TemporaryDirectory() as tmp:
        SCRATCH = tmp
        for name, p in images(tmp):
            for mode, c in (("RGB", 3), ("L", 1)):
                want = pil(p, mode)
                got = decode(p, c)
                if isinstance(got, subprocess.CompletedProcess):
                    fail(f"{name} {mode}: {got.stderr.strip()}")
                    continue
                if got.shape == want.shape and np.array_equal(got, want):
                    ok(f"{name} {mode}: {want.shape[1]}x{want.shape[0]} equals Pillow's decode bit for bit")
                else:
                    diff = np.abs(got.astype(int) - want.astype(int)).max() if got.shape == want.shape else -1
                    fail(f"{name} {mode}: shape {got.shape} vs {want.shape}, max difference {diff}")
            h, w = pil(p, "RGB").shape[:2]
            full = pil(p, "RGB")
            for (y0, x0, hh, ww) in ((h // 3, w // 4, h // 2, w // 3), (1, 17, h - 2, 9), (h - 5, w - 7, 5, 7)):
                got = decode(p, 3, 1, (y0, x0, hh, ww))
                if isinstance(got, subprocess.CompletedProcess):
                    fail(f"{name} window {y0},{x0} {hh}x{ww}: {got.stderr.strip()}")
                elif np.array_equal(got, full[y0:y0 + hh, x0:x0 + ww]):
                    ok(f"{name}: window rows {y0}+{hh}, columns {x0}+{ww} equals the full decode's")
                else:
                    fail(f"{name}: window {y0},{x0} {hh}x{ww} differs by "
                         f"{np.abs(got.astype(int) - full[y0:y0 + hh, x0:x0 + ww].astype(int)).max()}")
            crop_cases(name, p)
            eval_cases(name, p)
            if not p.lower().endswith((".jpg", ".jpeg")) or "png" in name:
                continue
            for denom in (2, 4, 8):
                got = decode(p, 3, denom)
                if isinstance(got, subprocess.CompletedProcess):
                    fail(f"{name} 1/{denom}: {got.stderr.strip()}")
                    continue
                sh, sw = -(-h // denom), -(-w // denom)
                if got.shape[:2] != (sh, sw):
                    fail(f"{name} 1/{denom}: shape {got.shape[:2]}, expected {(sh, sw)}")
                    continue
                # Pillow's draft asks libjpeg for the same DCT scaling: equal bit for bit
                im = Image.open(p)
                im.draft("RGB", (max(1, w // denom), max(1, h // denom)))  # Pillow picks scale w // asked
                dr = np.asarray(im.convert("RGB"))
                if dr.shape[:2] == (sh, sw) and np.array_equal(got, dr):
                    ok(f"{name} 1/{denom}: {sw}x{sh} equals Pillow's draft decode at 1/{denom} bit for bit")
                else:
                    fail(f"{name} 1/{denom}: draft {dr.shape[:2]}, max difference "
                         f"{np.abs(got.astype(int) - dr.astype(int)).max() if dr.shape == got.shape else -1}")
                # and is an image of the same content: near the box average of the full decode
                if h >= denom and w >= denom:
                    ref = np.asarray(Image.fromarray(full).reduce(denom))
                    m = min(ref.shape[0], sh), min(ref.shape[1], sw)
                    mean = np.abs(got[:m[0], :m[1]].astype(int) - ref[:m[0], :m[1]].astype(int)).mean()
                    (ok if mean < 16 else fail)(f"{name} 1/{denom}: mean difference {mean:.2f} from Pillow's "
                                                f"box-averaged full decode")
                # a window at the scale equals the same rows and columns of the scaled decode
                if sh >= 4 and sw >= 4:
                    y0, x0, hh, ww = sh // 4, sw // 3, sh // 2, sw // 2
                    win = decode(p, 3, denom, (y0, x0, hh, ww))
                    (ok if not isinstance(win, subprocess.CompletedProcess) and
                     np.array_equal(win, got[y0:y0 + hh, x0:x0 + ww]) else fail)(
                        f"{name} 1/{denom}: window rows {y0}+{hh}, columns {x0}+{ww} equals the scaled decode's")
        # malformed files: one line, exit 1
        good = images(tmp)[0][1]
        data = open(good, "rb").read()
        cases = [("truncated JPEG", data[:len(data) // 2]), ("0-byte file", b""),
                 ("text named .jpg", b"this is not an image\n"), ("JPEG header only", data[:200])]
        for name, b in cases:
            p = os.path.join(tmp, name.replace(" ", "_") + ".jpg")
            open(p, "wb").write(b)
            r = tool("decode", p, p + ".raw", 3, 1)
            lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
            if r.returncode == 1 and len(lines) == 1 and p in lines[0]:
                ok(f"{name}: one line naming the file ({lines[0].strip()})")
            else:
                fail(f"{name}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
