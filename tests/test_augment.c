/* tests/test_augment.c — the timm augmentations against timm / torchvision / Pillow.
 *
 * tests/ref/augment.fix (tests/ref/gen_augment_fixtures.py) holds, for fixed images and fixed
 * random decisions given to the reference code, what the reference computed. Each test feeds the
 * engine the same decisions (or the same uniforms, through Draws.given) and compares:
 *   - PIL: resized crops, every timm RandAugment op on RGB and "L" images, ColorJitter, grayscale:
 *     equal to the byte; Gaussian blur: within one level (torchvision convolves in float32 in an
 *     order of its own); eval resize + centre crop + normalize: 1e-6;
 *   - decisions: RandomResizedCrop's box and timm's RandomErasing boxes from the same uniforms,
 *     CutMix's box rule, RandAugment strings as timm parses them, RepeatAugSampler's order;
 *   - Mixup / CutMix pixels and soft targets for given lambdas and boxes: 1e-6;
 * then the engine's own draws statistically (op frequencies, magnitudes, Beta moments, rates),
 * malformed RandAugment strings and recipe values, the loader's mixed batches and repeated
 * copies, and the TensorFlow flavour's magnitudes and ops (no TensorFlow here: by their rules).
 */
#include <criterion/criterion.h>
#include <math.h>   // fabs, sqrt, isinf
#include <string.h> // memcpy, strstr

#include "data/loader.h"
#include "fixtures.h"
#include "run/recipe.h"

#define FIX "tests/ref/augment.fix"

static Fixtures fx;
static void load(void) { cr_assert_eq(fixtures_load(&fx, FIX), 0, "cannot read %s", FIX); }
static void unload(void) { fixtures_free(&fx); }

static const float *need(const char *prefix, const char *name, size_t *n)
{
    const FixTensor *t = fixture_find(&fx, prefix, name);
    cr_assert(t, "%s: no tensor %s/%s", FIX, prefix, name);
    if (n) *n = t->n;
    return t->data;
}

static bool has(const char *prefix) { return fixture_find(&fx, prefix, "meta") != NULL; }

// the fixture image `id` (0 rgb (12, 16, 3), 1 gray (12, 13, 1)) as uint8, into buf
static Img image(int id, uint8_t *buf)
{
    Img im = id == 0 ? (Img){buf, 12, 16, 3} : (Img){buf, 12, 13, 1};
    const float *v = need("img", id == 0 ? "rgb" : "gray", NULL);
    for (int i = 0; i < im.h * im.w * im.c; i++) buf[i] = (uint8_t)v[i];
    return im;
}

// max |got - want| over n bytes against float fixture values; *count: how many differ
static int byte_diff(const uint8_t *got, const float *want, size_t n, int *count)
{
    int m = 0;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)want[i]);
        m = MAX(m, d);
        *count += d != 0;
    }
    return m;
}

static double max_abs(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

// ---------------------------------------------------------------------------------------------
// Pillow kernels and RandAugment ops

Test(augment_pil, resized_crop_equals_pillow, .init = load, .fini = unload)
{
    uint8_t src[12 * 16 * 3], out[64 * 64 * 3], tmp[64 * 64 * 3];
    char p[32];
    for (int k = 0; snprintf(p, sizeof p, "resize/%d", k), has(p); k++) {
        const float *m = need(p, "meta", NULL);
        Img in = image((int)m[0], src), o = {out, (int)m[5], (int)m[6], in.c};
        int rect[4] = {(int)m[2], (int)m[1], (int)m[4], (int)m[3]};
        pil_resize(o, in, rect, m[7] ? PIL_BICUBIC : PIL_BILINEAR, tmp);
        int count, d = byte_diff(out, need(p, "out", NULL), (size_t)o.h * o.w * o.c, &count);
        cr_log_info("%s %dx%d -> %dx%d %s: max |diff| %d (%d values differ)", p, rect[3], rect[2], o.h, o.w,
                    m[7] ? "bicubic" : "bilinear", d, count);
        cr_expect_eq(d, 0, "%s differs from Pillow by up to %d in %d values", p, d, count);
    }
}

Test(augment_randaug, every_timm_op_equals_timm, .init = load, .fini = unload)
{
    RandAug ra;
    char why[512], p[32];
    cr_assert_eq(randaug_parse(&ra, "rand", why, sizeof why), 0);
    uint8_t px[12 * 16 * 3], tmp[12 * 16 * 3];
    int cases = 0;
    for (int k = 0; snprintf(p, sizeof p, "ra/%d", k), has(p); k++, cases++) {
        const float *m = need(p, "meta", NULL);
        Img img = image((int)m[0], px);
        RaLayer l = {(RaOp)m[1], true, m[2], m[3] != 0, m[4] ? PIL_BICUBIC : PIL_BILINEAR, {0, 0}};
        uint8_t fill[4] = {(uint8_t)m[5], (uint8_t)m[6], (uint8_t)m[7], 0};
        randaug_apply(&ra, &l, img, fill, tmp);
        int count, d = byte_diff(px, need(p, "out", NULL), (size_t)img.h * img.w * img.c, &count);
        cr_log_info("%s %-20s %s m %.1f%s %s: max |diff| %d (%d differ)", p, randaug_op_name(l.op),
                    img.c == 3 ? "rgb " : "gray", l.magnitude, l.negate ? " -" : "  ",
                    l.filter == PIL_BICUBIC ? "bicubic" : "bilinear", d, count);
        cr_expect_eq(d, 0, "%s %s differs from timm by up to %d in %d values", p, randaug_op_name(l.op), d, count);
    }
    cr_expect_geq(cases, 42, "only %d RandAugment cases in %s", cases, FIX);
}

Test(augment_randaug, strings_parse_as_timm_does, .init = load, .fini = unload)
{
    char p[32], s[64], why[512];
    for (int k = 0; snprintf(p, sizeof p, "parse/%d", k), has(p); k++) {
        size_t n;
        const float *str = need(p, "str", &n), *m = need(p, "meta", NULL);
        for (size_t i = 0; i < n; i++) s[i] = (char)str[i];
        s[n] = 0;
        RandAug ra;
        cr_assert_eq(randaug_parse(&ra, s, why, sizeof why), 0, "'%s': %s", s, why);
        cr_expect(ra.on && !ra.tf && ra.n == (int)m[0] && fabs(ra.p - m[1]) < 1e-7 && ra.m == m[2], "'%s': n %d p %g m %g",
                  s, ra.n, ra.p, ra.m);
        cr_expect(m[3] < 0 ? isinf(ra.mstd) : fabs(ra.mstd - m[3]) < 1e-7, "'%s': mstd %g, timm %g", s, ra.mstd, m[3]);
        cr_expect_eq(ra.mmax, m[4], "'%s': mmax %g, timm %g", s, ra.mmax, m[4]);
        cr_assert_eq(ra.n_ops, (int)m[5], "'%s': %d ops, timm %d", s, ra.n_ops, (int)m[5]);
        for (int i = 0; i < ra.n_ops; i++)
            cr_expect_eq(ra.ops[i], (RaOp)m[6 + i], "'%s' op %d: %s, timm %s", s, i, randaug_op_name(ra.ops[i]),
                         randaug_op_name((RaOp)m[6 + i]));
        cr_log_info("'%s': n %d, p %g, m %g, mstd %g, mmax %g, %d ops as timm", s, ra.n, ra.p, ra.m, ra.mstd, ra.mmax,
                    ra.n_ops);
    }
}

Test(augment_randaug, malformed_strings_are_errors)
{
    const char *bad[] = {"rand-m9x", "rand-", "rand-m", "rand-q3", "rand-tweights", "rand-m9-n0", "rand-p1.5",
                         "rand-inc2", "rand-m9.5", "randm9", "tf-m15-p0.5", "tf-x", "auto-m9", "rand-n99",
                         "rand-mmax0", "rand-m101", "tf-n2-m-3", "rand--m9"};
    for (int i = 0; i < LEN(bad); i++) {
        RandAug ra;
        char why[1024] = "";
        cr_expect_eq(randaug_parse(&ra, bad[i], why, sizeof why), ERR_FORMAT, "'%s' parsed", bad[i]);
        cr_expect(strstr(why, "valid"), "'%s': the message does not say what is valid: %s", bad[i], why);
        cr_log_info("'%s': %.120s...", bad[i], why);
    }
}

// the engine's own RandAugment draws: op frequencies, the layer coin, magnitude noise, signs
Test(augment_randaug, draws_have_timms_distributions)
{
    enum { N = 20000 };
    RandAug ra;
    char why[256];
    cr_assert_eq(randaug_parse(&ra, "rand-m5-mstd1-inc1-n3-p0.3", why, sizeof why), 0, "%s", why);
    int ops[RA_OP_COUNT] = {0}, applied = 0, negated = 0, bicubic = 0;
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        RaLayer l[RA_MAX_LAYERS];
        Draws d = draws_open(11, 0xA08, 2, (uint64_t)i, RA_DRAWS_PER_LAYER * RA_MAX_LAYERS);
        randaug_draw(&ra, l, &d, PIL_BILINEAR, true);
        for (int j = 0; j < 3; j++) {
            ops[l[j].op]++;
            applied += l[j].apply;
            negated += l[j].negate;
            bicubic += l[j].filter == PIL_BICUBIC;
            sum += l[j].magnitude;
            sq += l[j].magnitude * l[j].magnitude;
        }
    }
    double mean = sum / (3 * N), sd = sqrt(sq / (3 * N) - mean * mean), per = 3.0 * N / ra.n_ops;
    for (int i = 0; i < ra.n_ops; i++)
        cr_expect(fabs(ops[ra.ops[i]] - per) < 5 * sqrt(per), "%s drawn %d times, expected %.0f",
                  randaug_op_name(ra.ops[i]), ops[ra.ops[i]], per);
    cr_expect(fabs(applied / (3.0 * N) - 0.3) < 0.01, "layer coin %.4f, p 0.3", applied / (3.0 * N));
    cr_expect(fabs(negated / (3.0 * N) - 0.5) < 0.01 && fabs(bicubic / (3.0 * N) - 0.5) < 0.01, "sign %.4f filter %.4f",
              negated / (3.0 * N), bicubic / (3.0 * N));
    cr_expect(fabs(mean - 5) < 0.02 && fabs(sd - 1) < 0.02, "magnitude mean %.4f sd %.4f, want N(5, 1)", mean, sd);
    cr_log_info("rand-m5-mstd1-inc1-n3-p0.3 over %d images: coin %.4f, sign %.4f, magnitude %.4f +- %.4f", N,
                applied / (3.0 * N), negated / (3.0 * N), mean, sd);
    // mstd > 100: uniform in [0, m]; mstd 0 with m above 10: clipped to 10; TF: m as given, always applied
    cr_assert_eq(randaug_parse(&ra, "rand-m8-mstd101", why, sizeof why), 0);
    sum = 0;
    double hi = 0;
    for (int i = 0; i < N; i++) {
        RaLayer l[RA_MAX_LAYERS];
        Draws d = draws_open(3, 0xA08, 0, (uint64_t)i, RA_DRAWS_PER_LAYER * RA_MAX_LAYERS);
        randaug_draw(&ra, l, &d, PIL_BILINEAR, false);
        sum += l[0].magnitude;
        hi = fmax(hi, l[0].magnitude);
    }
    cr_expect(fabs(sum / N - 4) < 0.05 && hi <= 8, "uniform magnitude: mean %.3f max %.3f", sum / N, hi);
    const char *fixed[] = {"rand-m15", "tf-m15-n2"};
    double want[] = {10, 15};
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(randaug_parse(&ra, fixed[s], why, sizeof why), 0, "%s", why);
        RaLayer l[RA_MAX_LAYERS];
        Draws d = draws_open(3, 0xA08, 0, 0, RA_DRAWS_PER_LAYER * RA_MAX_LAYERS);
        randaug_draw(&ra, l, &d, PIL_BILINEAR, false);
        cr_expect(l[0].magnitude == want[s] && (s == 0 || l[0].apply), "%s: magnitude %g", fixed[s], l[0].magnitude);
    }
}

// the TensorFlow flavour by its rules: ops, fill 128, Contrast's H W / 256, Cutout's square
Test(augment_randaug, tensorflow_flavour_rules)
{
    RandAug ra;
    char why[256];
    cr_assert_eq(randaug_parse(&ra, "tf-n2-m15", why, sizeof why), 0, "%s", why);
    cr_expect(ra.tf && ra.n == 2 && ra.m == 15 && ra.n_ops == 16 && ra.p == 1 && isinf(ra.mmax));
    cr_expect(ra.ops[14] == RA_CUTOUT && ra.ops[15] == RA_SOLARIZE_ADD && ra.ops[12] == RA_TRANSLATE_X);
    enum { H = 16, W = 16 };
    uint8_t px[H * W * 3], tmp[H * W * 3], fill[4] = {0};
    Img img = {px, H, W, 3};
    RaLayer l = {RA_CONTRAST, true, 10, false, PIL_BILINEAR, {0, 0}}; // factor 1.9 towards 256 / 256 = 1
    for (int i = 0; i < H * W * 3; i++) px[i] = (uint8_t)(100 + i % 50);
    randaug_apply(&ra, &l, img, fill, tmp);
    cr_expect_eq(px[0], (uint8_t)(1 + 1.9f * (100 - 1)), "TF contrast: %d", px[0]);
    for (int i = 0; i < H * W * 3; i++) px[i] = 50;
    l = (RaLayer){RA_CUTOUT, true, 1, false, PIL_BILINEAR, {0.5f, 0.25f}}; // pad int(0.1 * 40) = 4 at (8, 4)
    randaug_apply(&ra, &l, img, fill, tmp);
    int filled = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            bool in = y >= 4 && y < 12 && x >= 0 && x < 8;
            filled += px[(y * W + x) * 3] == 128;
            cr_expect_eq(px[(y * W + x) * 3 + 2], in ? 128 : 50, "cutout at (%d, %d)", y, x);
        }
    cr_expect_eq(filled, 64);
    for (int i = 0; i < H * W * 3; i++) px[i] = (uint8_t)i;
    l = (RaLayer){RA_TRANSLATE_X, true, 0.3, false, PIL_BILINEAR, {0, 0}}; // 3 pixels: out(x) = in(x + 3)
    randaug_apply(&ra, &l, img, fill, tmp);
    cr_expect(px[0] == (uint8_t)(3 * 3) && px[(W - 1) * 3] == 128, "TF translate: %d %d", px[0], px[(W - 1) * 3]);
}

// ---------------------------------------------------------------------------------------------
// geometry decisions

Test(augment_geometry, rrc_box_is_torchvisions_rule, .init = load, .fini = unload)
{
    char p[32];
    for (int k = 0; snprintf(p, sizeof p, "rrc/%d", k), has(p); k++) {
        size_t n;
        const float *m = need(p, "meta", NULL), *u = need(p, "u", &n), *want = need(p, "box", NULL);
        Draws d = {.cap = (int)n, .given = u};
        int box[4];
        augment_rrc_box(box, (int)m[0], (int)m[1], (const float[2]){m[2], m[3]}, (const float[2]){m[4], m[5]}, &d);
        cr_expect(box[0] == want[0] && box[1] == want[1] && box[2] == want[2] && box[3] == want[3],
                  "%s: box (%d, %d, %d, %d), timm (%g, %g, %g, %g)", p, box[0], box[1], box[2], box[3], want[0], want[1],
                  want[2], want[3]);
        cr_log_info("%s %gx%g scale %g..%g ratio %.3g..%.3g: box (%d, %d, %d, %d) as timm, %d uniforms", p, m[0], m[1],
                    m[2], m[3], m[4], m[5], box[0], box[1], box[2], box[3], d.k);
    }
}

// the engine's RRC draws: the area fraction and log-aspect within their ranges, log-aspect centred;
// the mean area is not 0.54 (the middle of 0.08..1): torchvision's rule redraws boxes that do not
// fit, which are the large ones, and 2e5 draws of that rule in Python give a mean of 0.4794
Test(augment_geometry, rrc_draws_cover_the_ranges)
{
    enum { N = 20000 };
    double area = 0, logr = 0;
    for (int i = 0; i < N; i++) {
        Draws d = draws_open(9, 0xA07, 1, (uint64_t)i, 48);
        int b[4];
        augment_rrc_box(b, 224, 224, (const float[2]){0.08f, 1}, (const float[2]){0.75f, 4.0f / 3}, &d);
        cr_assert(b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= 224 && b[1] + b[3] <= 224, "box %d %d %d %d", b[0], b[1],
                  b[2], b[3]);
        area += (double)b[2] * b[3] / (224 * 224);
        logr += log((double)b[3] / b[2]);
    }
    cr_expect(fabs(area / N - 0.4794) < 0.005 && fabs(logr / N) < 0.01, "mean area %.4f (~0.4794), mean log-aspect %.4f",
              area / N, logr / N);
}

Test(augment_geometry, eval_crop_equals_timm, .init = load, .fini = unload)
{
    char p[32];
    uint8_t src[12 * 16 * 3];
    float out[16 * 16 * 3];
    const float mean[2][3] = {{0.485f, 0.456f, 0.406f}, {0.2860f}}, std[2][3] = {{0.229f, 0.224f, 0.225f}, {0.3530f}};
    AugScratch *s = augment_scratch_new();
    for (int k = 0; snprintf(p, sizeof p, "eval/%d", k), has(p); k++) {
        const float *m = need(p, "meta", NULL);
        int id = (int)m[0], res = (int)m[1];
        Img in = image(id, src);
        AugArgs a = {.crop_pct = m[2], .interpolation = m[3] ? INTERP_BICUBIC : INTERP_BILINEAR};
        memcpy(a.mean, mean[id], sizeof mean[id]);
        memcpy(a.std, std[id], sizeof std[id]);
        augment_eval(&a, out, res, res, in.px, in.h, in.w, in.c, s);
        double e = max_abs(out, need(p, "out", NULL), (size_t)res * res * in.c);
        cr_log_info("%s %dx%d -> res %d crop_pct %g: max |diff| %.2e", p, in.h, in.w, res, m[2], e);
        cr_expect(e < 1e-6, "%s: %.2e from timm's eval transform", p, e);
    }
    augment_scratch_free(s);
}

// ---------------------------------------------------------------------------------------------
// colour

Test(augment_color, jitter_grayscale_blur_equal_torchvision, .init = load, .fini = unload)
{
    char p[32];
    uint8_t px[12 * 16 * 3], tmp[12 * 16 * 3];
    double dtmp[12 * 16 * 3];
    for (int k = 0; snprintf(p, sizeof p, "jitter/%d", k), has(p); k++) {
        const float *m = need(p, "meta", NULL);
        Img img = image((int)m[0], px);
        Jitter j;
        for (int i = 0; i < 4; i++) {
            j.order[i] = (int)m[1 + i];
            j.factor[i] = m[5 + i];
            j.use[i] = m[9 + i] != 0;
        }
        augment_jitter(img, &j, tmp);
        int count, d = byte_diff(px, need(p, "out", NULL), (size_t)img.h * img.w * img.c, &count);
        cr_log_info("%s order %d%d%d%d factors %g %g %g %g: max |diff| %d", p, j.order[0], j.order[1], j.order[2],
                    j.order[3], j.factor[0], j.factor[1], j.factor[2], j.factor[3], d);
        cr_expect_eq(d, 0, "%s: ColorJitter differs by up to %d in %d values", p, d, count);
    }
    Img img = image(0, px);
    augment_gray(img, tmp);
    int count, d = byte_diff(px, need("gray", "out", NULL), 12 * 16 * 3, &count);
    cr_log_info("grayscale: max |diff| %d", d);
    cr_expect_eq(d, 0, "rgb_to_grayscale differs by up to %d in %d values", d, count);
    for (int k = 0; snprintf(p, sizeof p, "blur/%d", k), has(p); k++) {
        const float *m = need(p, "meta", NULL);
        img = image((int)m[0], px);
        augment_blur(img, m[1], dtmp);
        size_t n = (size_t)img.h * img.w * img.c;
        d = byte_diff(px, need(p, "out", NULL), n, &count);
        cr_log_info("%s sigma %g: max |diff| %d, %d of %zu values differ", p, m[1], d, count, n);
        cr_expect(d <= 1 && count <= (int)(n / 50) + 1, "%s: blur differs by up to %d in %d values", p, d, count);
    }
}

// ---------------------------------------------------------------------------------------------
// erasing

Test(augment_erase, timm_boxes_equal_timm, .init = load, .fini = unload)
{
    char p[32];
    float x[12 * 12 * 3];
    for (int k = 0; snprintf(p, sizeof p, "erase/%d", k), has(p); k++) {
        size_t n, nu;
        const float *m = need(p, "meta", NULL), *u = need(p, "u", &nu);
        const float *x0 = need(p, "x", &n);
        memcpy(x, x0, n * sizeof *x);
        AugArgs a = {.erase_p = m[3], .erase_area = {m[4], m[5]}, .erase_aspect = m[6], .erase_count = (int)m[7],
                     .erase_style = ERASE_TIMM, .erase_mode = ERASE_CONST};
        Draws d = {.cap = (int)nu, .given = u}, fill = {.cap = 1};
        augment_erase_timm(&a, x, (int)m[0], (int)m[1], (int)m[2], &d, &fill);
        const float *want = need(p, "out", NULL);
        int erased = 0;
        for (size_t i = 0; i < n; i++) erased += want[i] == 0;
        double e = max_abs(x, want, n);
        cr_log_info("%s %gx%gx%g p %g count <= %g: %d values erased, max |diff| %g", p, m[0], m[1], m[2], m[3], m[7],
                    erased, e);
        cr_expect(e == 0, "%s: %g from timm's RandomErasing", p, e);
    }
}

// the engine's erasing draws and fills: counts 1..N uniform, pixel mode N(0,1), rand mode per channel
Test(augment_erase, draws_and_fills)
{
    enum { N = 4000, H = 20, W = 24, C = 3 };
    AugArgs a = {.erase_p = 1, .erase_area = {0.02f, 1.0f / 3}, .erase_aspect = 0.3f, .erase_count = 3,
                 .erase_style = ERASE_TIMM, .erase_mode = ERASE_PIXEL, .mean = {0, 0, 0}, .std = {1, 1, 1}};
    cr_assert_eq(augment_resolve(&a), 0);
    static float x[H * W * C];
    double sum = 0, sq = 0, cnt = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < H * W * C; j++) x[j] = 1e6f;
        Draws d = draws_open(5, 0xA0B, 0, (uint64_t)i, 1024), fill = draws_open(5, 77, 0, (uint64_t)i, 1 << 20);
        augment_erase_timm(&a, x, H, W, C, &d, &fill);
        for (int j = 0; j < H * W * C; j++)
            if (x[j] != 1e6f) sum += x[j], sq += (double)x[j] * x[j], cnt++;
    }
    double mean = sum / cnt, var = sq / cnt - mean * mean;
    cr_expect(cnt > 0 && fabs(mean) < 0.01 && fabs(var - 1) < 0.02, "pixel fill mean %.4f var %.4f over %.0f", mean, var,
              cnt);
    a.erase_mode = ERASE_RAND;
    a.erase_count = 1;
    for (int j = 0; j < H * W * C; j++) x[j] = 1e6f;
    Draws d = draws_open(5, 0xA0B, 0, 1, 1024), fill = draws_open(5, 77, 0, 1, 1 << 20);
    augment_erase_timm(&a, x, H, W, C, &d, &fill);
    float first[C] = {1e6f, 1e6f, 1e6f};
    for (int j = 0; j < H * W; j++)
        for (int k = 0; k < C; k++)
            if (x[j * C + k] != 1e6f) {
                if (first[k] == 1e6f) first[k] = x[j * C + k];
                cr_expect_eq(x[j * C + k], first[k], "rand mode: one value per channel and box");
            }
}

// ---------------------------------------------------------------------------------------------
// Mixup / CutMix

Test(augment_mix, pixels_and_targets_equal_timm, .init = load, .fini = unload)
{
    char p[32];
    for (int k = 0; snprintf(p, sizeof p, "mix/%d", k), has(p); k++) {
        size_t nx, nd;
        const float *m = need(p, "meta", NULL), *dec = need(p, "dec", &nd), *lab = need(p, "labels", NULL);
        int n = (int)m[10], h = (int)m[11], w = (int)m[12], c = (int)m[13], classes = (int)m[8];
        MixArgs a = {m[1], m[2], {m[3], m[4]}, m[5], m[6], (MixMode)m[0], m[7] != 0, 0, classes, m[9]};
        float *x = malloc(sizeof(float) * (size_t)n * h * w * c), *t = malloc(sizeof(float) * (size_t)n * classes);
        float *scratch = malloc(sizeof(float) * 2 * (size_t)h * w * c);
        const float *x0 = need(p, "x", &nx);
        memcpy(x, x0, nx * sizeof *x);
        MixDecision d[16];
        int labels[16];
        for (int i = 0; i < n; i++) labels[i] = (int)lab[i];
        for (size_t i = 0; i < nd / 7; i++) {
            const float *r = dec + 7 * i;
            d[i] = (MixDecision){r[0] != 0, r[1] != 0, r[2], {(int)r[3], (int)r[4], (int)r[5], (int)r[6]}};
        }
        mixup_apply(&a, d, x, t, labels, n, h, w, c, scratch);
        double ex = max_abs(x, need(p, "out", NULL), nx), et = max_abs(t, need(p, "targets", NULL), (size_t)n * classes);
        cr_log_info("%s %s mixup %g cutmix %g minmax %g..%g: lambda %.4f%s, pixels %.2e, targets %.2e", p,
                    (const char *[]){"batch", "pair", "elem"}[a.mode], a.mixup_alpha, a.cutmix_alpha, a.cutmix_minmax[0],
                    a.cutmix_minmax[1], d[0].lam, d[0].cutmix ? " (cutmix)" : "", ex, et);
        cr_expect(ex < 1e-6 && et < 1e-6, "%s: pixels %.2e, targets %.2e from timm's Mixup", p, ex, et);
        free(x);
        free(t);
        free(scratch);
    }
}

Test(augment_mix, cutmix_box_is_timms_rule, .init = load, .fini = unload)
{
    char p[32];
    for (int k = 0; snprintf(p, sizeof p, "mixbox/%d", k), has(p); k++) {
        const float *m = need(p, "meta", NULL), *u = need(p, "u", NULL), *want = need(p, "box", NULL);
        MixArgs a = {.cutmix_alpha = 1, .cutmix_minmax = {m[3], m[4]}, .correct_lam = m[5] != 0};
        MixDecision d = {true, true, m[2], {0}};
        mixup_box(&a, &d, (int)m[0], (int)m[1], u);
        cr_expect(d.box[0] == want[0] && d.box[1] == want[1] && d.box[2] == want[2] && d.box[3] == want[3] &&
                  fabs(d.lam - want[4]) < 1e-12, "%s: box %d %d %d %d lambda %.6f, timm %g %g %g %g %.6f", p, d.box[0],
                  d.box[1], d.box[2], d.box[3], d.lam, want[0], want[1], want[2], want[3], want[4]);
    }
}

// Beta(a, a) moments, and the rates of the mixing and switch coins
Test(augment_mix, beta_and_coins)
{
    enum { N = 40000 };
    const double alphas[] = {0.2, 0.8, 1.0, 2.0};
    for (int k = 0; k < LEN(alphas); k++) {
        double a = alphas[k], s = 0, sq = 0;
        for (int i = 0; i < N; i++) {
            Draws d = draws_open(1, 5, k, (uint64_t)i, 64);
            double v = mixup_beta(a, &d);
            cr_assert(v >= 0 && v <= 1);
            s += v;
            sq += v * v;
        }
        double mean = s / N, var = sq / N - mean * mean, want = 1 / (4 * (2 * a + 1));
        cr_log_info("Beta(%g, %g): mean %.4f var %.5f (want 0.5, %.5f)", a, a, mean, var, want);
        cr_expect(fabs(mean - 0.5) < 0.01 && fabs(var / want - 1) < 0.05, "Beta(%g): mean %.4f var %.5f want %.5f", a,
                  mean, var, want);
    }
    MixArgs m = {.mixup_alpha = 0.8f, .cutmix_alpha = 1, .prob = 0.6f, .switch_prob = 0.3f, .correct_lam = true};
    int mixed = 0, cut = 0;
    for (int i = 0; i < N; i++) {
        Draws d = draws_open(2, 5, 0, (uint64_t)i, 64);
        MixDecision dec;
        mixup_draw(&m, &dec, 16, 16, &d);
        mixed += dec.mix;
        cut += dec.cutmix;
        if (dec.cutmix) cr_assert(dec.box[0] <= dec.box[1] && dec.box[1] <= 16 && dec.box[2] <= dec.box[3]);
    }
    cr_expect(fabs(mixed / (double)N - 0.6) < 0.01 && fabs(cut / (double)mixed - 0.3) < 0.015, "mixed %.4f, cutmix %.4f",
              mixed / (double)N, cut / (double)mixed);
}

// ---------------------------------------------------------------------------------------------
// the sampler

Test(augment_sampler, repeat_order_equals_timm, .init = load, .fini = unload)
{
    char p[32];
    for (int k = 0; snprintf(p, sizeof p, "repeat/%d", k), has(p); k++) {
        size_t n_perm, n_want;
        const float *m = need(p, "meta", NULL), *pf = need(p, "perm", &n_perm), *want = need(p, "index", &n_want);
        int n = (int)m[0], world = (int)m[2], rank = (int)m[3], *perm = malloc(sizeof(int) * n);
        int *idx = malloc(sizeof(int) * n_want), *copy = malloc(sizeof(int) * n_want);
        for (int i = 0; i < n; i++) perm[i] = (int)pf[i];
        int len = sampler_repeat(perm, n, m[1], rank, world, idx, copy);
        cr_expect_eq(len, (int)n_want, "%s: %d samples, timm %zu", p, len, n_want);
        cr_expect_eq(sampler_repeat_len(n, m[1], world), len);
        int wrong = 0;
        for (int i = 0; i < MIN(len, (int)n_want); i++) wrong += idx[i] != (int)want[i];
        cr_expect_eq(wrong, 0, "%s: %d of %d positions differ from timm's RepeatAugSampler", p, wrong, len);
        for (int i = 1; i < len && world == 1; i++) // one rank: the copies of an entry follow each other
            cr_expect(idx[i] != idx[i - 1] ? copy[i] == 0 : copy[i] == copy[i - 1] + 1, "%s: copy numbers at %d", p, i);
        cr_log_info("%s n %d repeats %g world %d rank %d: %d samples as timm", p, n, m[1], world, rank, len);
        free(perm);
        free(idx);
        free(copy);
    }
}

// ---------------------------------------------------------------------------------------------
// the pipeline and the loader

static void synthetic(Dataset *ds, int n, int h, int w, int c, int classes)
{
    uint8_t *img = xmalloc((size_t)n * h * w * c), *lab = xmalloc((size_t)n);
    for (size_t i = 0; i < (size_t)n * h * w * c; i++) img[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % classes);
    dataset_init_memory(ds, "synthetic", n, classes, h, w, c, img, lab);
}

static AugArgs full_aug(void)
{
    AugArgs a = {.rrc = true, .rrc_scale = {0.3f, 1}, .rrc_ratio = {0.75f, 4.0f / 3}, .interpolation = INTERP_RANDOM,
                 .flip = true, .randaug = "rand-m9-mstd0.5-inc1", .color_jitter = {0.4f, 0.4f, 0.4f, 0.1f},
                 .color_jitter_p = 0.8f, .grayscale_p = 0.2f, .blur_p = 0.3f, .mean = {0.5f, 0.4f, 0.3f},
                 .std = {0.2f, 0.25f, 0.3f}, .erase_p = 0.5f, .erase_area = {0.02f, 1.0f / 3}, .erase_aspect = 0.3f,
                 .erase_mode = ERASE_PIXEL, .erase_style = ERASE_TIMM, .erase_count = 2};
    cr_assert_eq(augment_resolve(&a), 0);
    return a;
}

// every stage on: a pure function of (seed, epoch, index), different across each, finite, on RGB
// and single-channel images; without pixel stages the path is augment_sample's, bitwise
Test(augment_pipeline, pure_function_and_float_path)
{
    enum { H = 30, W = 26, O = 20 };
    AugArgs a = full_aug();
    AugScratch *s = augment_scratch_new();
    for (int c = 1; c <= 3; c += 2) {
        uint8_t img[H * W * 3];
        for (int i = 0; i < H * W * c; i++) img[i] = (uint8_t)(i * 7 + (i / W) * 3);
        static float x[O * O * 3], y[O * O * 3];
        int same_epoch = 0, same_index = 0;
        for (int i = 0; i < 40; i++) {
            augment_train(&a, x, O, O, img, H, W, c, 4, 2, (uint64_t)i, s);
            augment_train(&a, y, O, O, img, H, W, c, 4, 2, (uint64_t)i, s);
            cr_expect(memcmp(x, y, sizeof(float) * O * O * c) == 0, "c %d sample %d: two calls differ", c, i);
            for (int j = 0; j < O * O * c; j++) cr_assert(isfinite(x[j]));
            augment_train(&a, y, O, O, img, H, W, c, 4, 3, (uint64_t)i, s);
            same_epoch += memcmp(x, y, sizeof(float) * O * O * c) == 0;
            augment_train(&a, y, O, O, img, H, W, c, 4, 2, (uint64_t)i + 1000, s);
            same_index += memcmp(x, y, sizeof(float) * O * O * c) == 0;
        }
        cr_expect(same_epoch == 0 && same_index == 0, "c %d: %d epochs, %d indices draw the same", c, same_epoch,
                  same_index);
    }
    AugArgs plain = {.pad = 2, .flip = true, .mean = {0.5f}, .std = {0.25f}, .erase_p = 0.5f, .erase_area = {0.02f, 0.4f},
                     .erase_aspect = 0.3f, .erase_mode = ERASE_UNIFORM};
    cr_assert_eq(augment_resolve(&plain), 0);
    uint8_t g[28 * 28];
    float x[28 * 28], y[28 * 28];
    for (int i = 0; i < 28 * 28; i++) g[i] = (uint8_t)(i * 13);
    for (int i = 0; i < 20; i++) {
        augment_train(&plain, x, 28, 28, g, 28, 28, 1, 7, 1, (uint64_t)i, s);
        augment_sample(&plain, y, g, 28, 28, 1, 7, 1, (uint64_t)i);
        cr_expect(memcmp(x, y, sizeof x) == 0, "sample %d: the float path changed", i);
    }
    augment_scratch_free(s);
}

// mixed batches: targets for every sample (rows sum to 1, smoothing folded in), bitwise the same
// for any worker count; repeated augmentation: the epoch's length and distinct copies
Test(augment_loader, mixed_batches_and_repeated_copies)
{
    Dataset ds;
    synthetic(&ds, 40, 10, 12, 3, 4);
    AugArgs a = full_aug();
    a.mix = (MixArgs){.mixup_alpha = 0.8f, .cutmix_alpha = 1, .prob = 1, .switch_prob = 0.5f, .mode = MIX_ELEM,
                      .correct_lam = true, .classes = 6, .smoothing = 0.1f};
    a.repeated_aug = 3;
    Loader l1, l3;
    cr_assert_eq(loader_open(&l1, &ds, &a, 5, 8, true, 8, 8, 1, 1), 0);
    cr_assert_eq(loader_open(&l3, &ds, &a, 5, 8, true, 8, 8, 3, 2), 0);
    cr_expect_eq(l1.epoch_len, sampler_repeat_len(40, 3, 1));
    loader_start(&l1, 1, 0, 0, true);
    loader_start(&l3, 1, 0, 0, true);
    const Batch *b1, *b3;
    int batches = 0;
    while (!loader_next(&l1, &b1) && b1) {
        cr_assert(!loader_next(&l3, &b3) && b3);
        cr_assert(b1->targets && b1->classes == 6);
        cr_expect(memcmp(b1->x, b3->x, sizeof(float) * 8 * 8 * 8 * 3) == 0, "batch %d: workers change pixels", batches);
        cr_expect(memcmp(b1->targets, b3->targets, sizeof(float) * 8 * 6) == 0, "batch %d: workers change targets",
                  batches);
        for (int i = 0; i < b1->n; i++) {
            double sum = 0;
            for (int k = 0; k < 6; k++) sum += b1->targets[i * 6 + k];
            cr_expect(fabs(sum - 1) < 1e-5 && fabs(b1->targets[i * 6 + 5] - 0.1 / 6) < 1e-7,
                      "batch %d row %d sums to %g, unseen class %g", batches, i, sum, b1->targets[i * 6 + 5]);
        }
        batches++;
    }
    cr_expect_eq(batches, l1.epoch_len / 8);
    loader_close(&l1);
    loader_close(&l3);
    // copies of one sample in a row (world 1) draw differently: no two equal consecutive samples
    a.mix = (MixArgs){.prob = 1};
    cr_assert_eq(loader_open(&l1, &ds, &a, 5, 6, true, 8, 8, 2, 2), 0);
    loader_start(&l1, 0, 0, 1, true);
    cr_assert(!loader_next(&l1, &b1) && b1 && !b1->targets);
    for (int i = 1; i < b1->n; i++)
        cr_expect(memcmp(b1->x + (i - 1) * 192, b1->x + i * 192, 192 * sizeof(float)) != 0, "samples %d and %d equal",
                  i - 1, i);
    loader_close(&l1);
    dataset_free(&ds);
}

// ---------------------------------------------------------------------------------------------
// recipe keys

Test(augment_recipe, keys_parse_and_bad_values_are_errors)
{
    char *good[] = {"data.rrc=true", "data.rrc_scale=0.08,1", "data.interpolation=bicubic",
                    "data.randaug=rand-m9-mstd0.5-inc1", "data.color_jitter=0.4", "data.grayscale_p=0.2",
                    "data.blur_p=0.1", "data.erase_style=timm", "data.erase_count=3", "data.erase_mode=rand",
                    "data.crop_pct=0.875", "data.mixup_alpha=0.8", "data.cutmix_alpha=1", "data.mixup_mode=pair",
                    "data.repeated_aug=3", "data.drop_last=true"};
    TrainConfig c;
    cr_assert_eq(recipe_load(&c, NULL, LEN(good), good), 0);
    cr_expect(c.aug.rrc && c.aug.ra.on && c.aug.ra.increasing && c.aug.color_jitter[2] == 0.4f &&
              c.aug.color_jitter[3] == 0 && c.aug.mix.mode == MIX_PAIR && c.aug.erase_count == 3);
    char *bad[][1] = {{"data.randaug=rand-m9x"}, {"data.randaug=rand-tweights"}, {"data.rrc_scale=0.5"},
                      {"data.color_jitter=0.4,0.4"}, {"data.color_jitter=0.4,0.4,0.4,0.7"}, {"data.crop_pct=1.5"},
                      {"data.crop_pct=0.01"}, {"data.mixup_mode=bat"}, {"data.interpolation=nearest"},
                      {"data.erase_count=3"}, {"data.repeated_aug=0.5"}, {"data.mixup_alpha=0.2"},
                      {"data.erase_style=paper"}, {"data.cutmix_minmax=0.8,0.2"}};
    for (int i = 0; i < LEN(bad); i++)
        cr_expect_eq(recipe_load(&c, NULL, 1, bad[i]), ERR_FORMAT, "%s was accepted", bad[i][0]);
}

// tf-...-rel1 at small sizes: at 32 px and magnitude 15, no op (either sign, any cutout centre)
// leaves more than half of the image at the fill value; TF's absolute pixel sizes blank it whole
Test(augment_randaug, relative_sizes_do_not_blank_small_images)
{
    enum { H = 32, W = 32, C = 3 };
    uint8_t src[H * W * C], px[H * W * C], tmp[H * W * C], fill[4] = {128, 128, 128, 128};
    for (int i = 0; i < H * W * C; i++) src[i] = (uint8_t)(i * 37 % 251 == 128 ? 7 : i * 37 % 251); // no 128
    double worst_abs = 0;
    for (int rel = 0; rel < 2; rel++) {
        RandAug ra;
        char why[512];
        cr_assert_eq(randaug_parse(&ra, rel ? "tf-n2-m15-rel1" : "tf-n2-m15", why, sizeof why), 0, "%s", why);
        cr_assert_eq(ra.rel, rel != 0);
        for (int k = 0; k < ra.n_ops; k++)
            for (int neg = 0; neg < 2; neg++)
                for (int centre = 0; centre < 3; centre++) {
                    RaLayer l = {ra.ops[k], true, ra.m, neg != 0, PIL_BILINEAR, {0.5f * centre, 0.5f * centre}};
                    memcpy(px, src, sizeof px);
                    randaug_apply(&ra, &l, (Img){px, H, W, C}, fill, tmp);
                    int filled = 0;
                    for (int i = 0; i < H * W; i++) filled += px[i * C] == 128 && px[i * C + 1] == 128 && px[i * C + 2] == 128;
                    double share = (double)filled / (H * W);
                    if (!rel) worst_abs = MAX(worst_abs, share);
                    else
                        cr_expect(share <= 0.5, "tf-n2-m15-rel1 %s (%s, centre %d) fills %.0f%% of a 32-px image",
                                  randaug_op_name(l.op), neg ? "negative" : "positive", centre, 100 * share);
                }
    }
    cr_expect_eq(worst_abs, 1.0, "TF's absolute sizes blank a 32-px image whole at m 15 (worst %.0f%%)", 100 * worst_abs);
}
