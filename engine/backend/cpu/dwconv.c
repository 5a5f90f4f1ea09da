/* engine/backend/cpu/dwconv.c — depthwise convolution (groups = C = OC: one filter per channel,
 * MobileNet's and EfficientNet's 3x3 / 5x5 / 7x7, stride 1 or 2) in own vector loops.
 *
 * NHWC puts a pixel's channels side by side, so a depthwise convolution is, per channel block of
 * 16, a sum of shifted rows times one weight vector per tap: no im2col, no GEMM. oneDNN 2.6's
 * jit_dw kernels are fine forward but its backward passes are slow on the small maps of these
 * networks (MobileNetV2 at 56 px, batch 64, 2 threads: a 2x2x960 3x3 depthwise took 0.09 ms
 * forward and 2.5 ms backward; see the commit that added this file for the step's times).
 * The weights, stored (C, KH, KW, 1), are turned into (KH, KW, C) per call (a few thousand
 * floats) so a tap's 16 channels are one vector.
 *   forward         parallel over output rows (n, oh); per 16-channel block the taps' weights
 *                   stay in registers; bias and a fused activation (inference, BN folded) in the
 *                   epilogue
 *   backward data   gathered per input pixel (the transposed convolution): each dx element is
 *                   formed once and added into the caller's (+=), parallel over input rows, no
 *                   write conflicts and no scratch
 *   backward weights per image and tap, a 16-channel block summed in registers over the output
 *                   pixels whose tap lands inside the map (two running sums, float), the images'
 *                   sums added in image order (fixed: the same bits at any thread count); db
 *                   likewise
 * A channel count that is not a multiple of 16 ends with a partial block, loaded and stored lane
 * by lane (MobileNetV3's 72, 120, 200, 240, 480...).
 */
#pragma GCC optimize("fp-contract=fast") // a*b + c as one FMA (-std=c11 otherwise keeps them apart)
#include <omp.h>    // omp_get_max_threads, omp_get_thread_num
#include <string.h> // memset, memmove

#include "vmath.h"

#define LD(p) (*(const v16 *)(p))

// the convolutions this file serves: depthwise with a channel multiplier of 1, no dilation
bool cpu_dw_applies(Conv2d o)
{
    return o.g == o.x.c && o.oc == o.x.c && o.dh == 1 && o.dw == 1 && o.kh * o.kw <= 49;
}

// backward weights: ours for kernels of 5x5 and up, for output maps of at most 4 pixels and for
// maps of 25..49 pixels (5x5..7x7), where oneDNN's jit_dw (one chunk of the batch a thread) is
// several times slower; oneDNN's elsewhere (its 3x3 on larger maps mostly beats ours, which strides
// across pixels once per channel block). Measured (ms, 2 threads, batch 64, warm caches, ours /
// oneDNN): 3x3 2x2x960 0.18 / 1.3, 5x5 14x14x240 2.6 / 11.6, 5x5 2x2x1152 0.78 / 4.4; 3x3
// 14x14x144 0.62 / 0.34, 3x3 4x4x576 0.25 / 0.08; and in MobileNetV2's step at 56 px (forward +
// both backward passes, bench_train --profile, 30 steps): 3x3 7x7x144 s2 1.35 / 4.0, 7x7x192
// 0.59 / 2.7 and 0.57 / 2.0, where 4x4x384 took 0.43 / 0.28 and 14x14x144 1.81 / 1.51
bool cpu_dw_weights_own(Conv2d o)
{
    Shape4 ys = conv2d_out(o);
    int px = ys.h * ys.w;
    return o.kh * o.kw >= 25 || px <= 4 || (px >= 25 && px <= 49);
}

// floor(a / b) for b > 0 (C's division truncates negative quotients towards 0: a column range
// that should be empty would take column 0)
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// w (C, KH, KW) -> wt (KH, KW, C)
static void taps_last(float *wt, const float *w, int c, int taps)
{
    for (int k = 0; k < c; k++)
        for (int t = 0; t < taps; t++) wt[(size_t)t * c + k] = w[(size_t)k * taps + t];
}

// the taps of a pixel that land inside the other map form a rectangle of kernel rows
// kh0, kh0 + step, ... < kh1 and columns kw0, ... < kw1 (step: the stride when gathering dx, else 1)
typedef struct { int kh0, kh1, kw0, kw1, step; } Window;

// sum over the window of LD(a + ((kh - kh0)*ah + (kw - kw0)*aw)*c) * LD(w + (kh*KW + kw)*c): a is
// the window's first tap (kh0, kw0), k0 already in a and w; KW (when not 0) is the kernel width as
// a constant, and the window covers whole rows: unrolled
static inline __attribute__((always_inline)) v16 window_dot(v16 acc, const float *a, const float *w, Window win,
                                                           long ah, long aw, int c, int kw_all, const int KW)
{
    if (KW) {
        for (int kh = win.kh0; kh < win.kh1; kh += win.step)
            for (int kw = 0; kw < KW; kw++)
                acc += LD(a + ((kh - win.kh0) * ah + kw * aw) * c) * LD(w + (size_t)(kh * KW + kw) * c);
        return acc;
    }
    for (int kh = win.kh0; kh < win.kh1; kh += win.step)
        for (int kw = win.kw0; kw < win.kw1; kw += win.step)
            acc += LD(a + ((kh - win.kh0) * ah + (kw - win.kw0) * aw) * c) * LD(w + (size_t)(kh * kw_all + kw) * c);
    return acc;
}

static inline __attribute__((always_inline)) v16 window_dot_n(v16 acc, const float *a, const float *w,
                                                             Window win, long ah, long aw, int c, int kw_all,
                                                             int nl)
{
    for (int kh = win.kh0; kh < win.kh1; kh += win.step)
        for (int kw = win.kw0; kw < win.kw1; kw += win.step)
            acc += ldn(a + ((kh - win.kh0) * ah + (kw - win.kw0) * aw) * c, nl) *
                   ldn(w + (size_t)(kh * kw_all + kw) * c, nl);
    return acc;
}

// one output row (n, oh): pixel by pixel, each pixel's channel blocks in turn, so x, y and the
// weights are read in memory order (a block-outer order strides through the rows and stalls)
// x holds rows xrow0.. of the (N*H) rows of the map (0: all of it)
static inline __attribute__((always_inline)) void forward_row(Conv2d o, Shape4 ys, float *y, const float *x,
                                                             long xrow0, const float *wt, const float *b, bool add,
                                                             int n, int oh, const ActKind act, const int KW)
{
    int c = o.x.c, ih0 = oh * o.sh - o.ph;
    Window win = {MAX(0, -ih0), MIN(o.kh, o.x.h - ih0), 0, o.kw, 1};
    for (int ow = 0; ow < ys.w; ow++) {
        int iw0 = ow * o.sw - o.pw;
        win.kw0 = MAX(0, -iw0), win.kw1 = MIN(o.kw, o.x.w - iw0);
        bool whole = win.kw0 == 0 && win.kw1 == o.kw;
        if (win.kh0 >= win.kh1 || win.kw0 >= win.kw1) { // no tap inside (padding alone): the bias
            float *yp = y + (((size_t)n * ys.h + oh) * ys.w + ow) * c;
            for (int k0 = 0; k0 < c; k0 += 16) {
                int nl = MIN(16, c - k0);
                stn(yp + k0, act_v(act, (add ? ldn(yp + k0, nl) : V16(0.0f)) + (b ? ldn(b + k0, nl) : V16(0.0f))), nl);
            }
            continue;
        }
        // the window's first tap (kh0, kw0), inside the map
        const float *xp = x + (((long)n * o.x.h + (ih0 + win.kh0) - xrow0) * o.x.w + (iw0 + win.kw0)) * c;
        float *yp = y + (((size_t)n * ys.h + oh) * ys.w + ow) * c;
        int k0 = 0;
        for (; k0 + 16 <= c; k0 += 16) {
            v16 acc = add ? LD(yp + k0) : b ? LD(b + k0) : V16(0.0f);
            acc = whole ? window_dot(acc, xp + k0, wt + k0, win, o.x.w, 1, c, o.kw, KW)
                        : window_dot(acc, xp + k0, wt + k0, win, o.x.w, 1, c, o.kw, 0);
            *(v16 *)(yp + k0) = act_v(act, acc);
        }
        if (k0 < c) {
            int nl = c - k0;
            v16 acc = add ? ldn(yp + k0, nl) : b ? ldn(b + k0, nl) : V16(0.0f);
            stn(yp + k0, act_v(act, window_dot_n(acc, xp + k0, wt + k0, win, o.x.w, 1, c, o.kw, nl)), nl);
        }
    }
}

// forward_row with the activation and the kernel width as constants
static void forward_rows(Conv2d o, Shape4 ys, float *y, const float *x, long xrow0, const float *wt, const float *b,
                         bool add, int n, int oh)
{
#define ROW(ACT, KW) forward_row(o, ys, y, x, xrow0, wt, b, add, n, oh, ACT, KW)
#define BY_KW(ACT) (o.kw == 3 ? ROW(ACT, 3) : o.kw == 5 ? ROW(ACT, 5) : ROW(ACT, 0))
    switch (o.act) {
    case ACT_NONE: BY_KW(ACT_NONE); break;
    case ACT_RELU: BY_KW(ACT_RELU); break;
    case ACT_RELU6: BY_KW(ACT_RELU6); break;
    default: ROW(o.act, 0);
    }
#undef BY_KW
#undef ROW
}

void cpu_dw_forward(Dev *d, Conv2d o, float *y, const float *x, const float *w, const float *b)
{
    Shape4 ys = conv2d_out(o);
    int taps = o.kh * o.kw;
    float *wt = cpu_scratch(d, 3, (size_t)taps * o.x.c);
    taps_last(wt, w, o.x.c, taps);
    long rows = (long)ys.n * ys.h;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) forward_rows(o, ys, y, x, 0, wt, b, false, (int)(r / ys.h), (int)(r % ys.h));
}

// ---------------------------------------------------------------------------------------------
// the chain 1x1 -> depthwise (ops.h's conv2d_chain_forward, an inverted residual's expansion and
// depthwise convolution as evaluated): per image, bands of the depthwise output's rows; a band's
// rows of the expanded map are made by one GEMM (and its epilogue) into a buffer of about 256 KB,
// the rows the next band shares with it moved to the buffer's front instead of made again, and the
// depthwise rows read them there while in cache: the expanded tensor never goes to memory. Small
// maps (fewer than CHAIN_MIN_PIX pixels an image, where a band would be a GEMM of a few rows that
// packs all of the weights) run the two convolutions through scratch. Bands and buffers follow
// from the shape alone: the same bits at any thread count.
enum { CHAIN_MIN_PIX = 256, CHAIN_BUF_FLOATS = 65536 };
enum { S_CHAIN = 10 }; // scratch slot of the expanded rows (conv2d.c: 0..7, dnnl_util.c: 8, 9; 3: wt)

void cpu_conv2d_chain_forward(Dev *d, Conv2dChain op, float *y, const float *x, const float *w1, const float *b1,
                              const float *w2, const float *b2)
{
    Conv2d p = op.pw, q = op.dw;
    Shape4 ms = q.x, ys = conv2d_out(q);
    if (d->variant != 0 || !cpu_dw_applies(q) || ms.h * ms.w < CHAIN_MIN_PIX) {
        float *t = cpu_scratch(d, S_CHAIN, shape_numel(ms));
        cpu_conv2d_forward(d, p, t, x, w1, b1);
        cpu_conv2d_forward(d, q, y, t, w2, b2);
        return;
    }
    int c = ms.c, taps = q.kh * q.kw;
    long row = (long)ms.w * c; // floats of one row of the expanded map
    // output rows a band: its expanded rows ((R-1)*S + KH) about CHAIN_BUF_FLOATS, at least 256 pixels
    long want = MAX((long)CHAIN_BUF_FLOATS / row, (CHAIN_MIN_PIX + ms.w - 1) / ms.w);
    int band = (int)MAX(1, MIN((long)ys.h, (want - q.kh) / q.sh + 1));
    long cap = ((long)(band - 1) * q.sh + q.kh) * row;
    float *wt = cpu_scratch(d, 3, (size_t)taps * c);
    taps_last(wt, w2, c, taps);
    int nth = omp_get_max_threads();
    float *bufs = cpu_scratch(d, S_CHAIN, (size_t)cap * nth);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < ms.n; n++) {
        float *buf = bufs + (size_t)cap * omp_get_thread_num();
        int lo_have = 0, hi_have = 0; // the buffer holds expanded rows [lo_have, hi_have) of image n
        for (int oh0 = 0; oh0 < ys.h; oh0 += band) {
            int oh1 = MIN(ys.h, oh0 + band);
            int lo = MAX(0, oh0 * q.sh - q.ph), hi = MIN(ms.h, (oh1 - 1) * q.sh - q.ph + q.kh);
            if (lo >= lo_have && lo < hi_have) { // rows shared with the last band: to the front
                memmove(buf, buf + (lo - lo_have) * row, (size_t)(hi_have - lo) * row * sizeof *buf);
                lo_have = lo;
            } else
                lo_have = hi_have = lo;
            if (hi > hi_have) {
                cpu_gemm_rows(p, buf + (long)(hi_have - lo_have) * row, x + ((long)n * ms.h + hi_have) * ms.w * p.x.c,
                              w1, b1, (long)(hi - hi_have) * ms.w);
                hi_have = hi;
            }
            for (int oh = oh0; oh < oh1; oh++)
                forward_rows(q, ys, y, buf, (long)n * ms.h + lo_have, wt, b2, false, n, oh);
        }
    }
}

// the first k >= lo with k = r (mod s), r in [0, s)
static inline int first_congruent(int lo, int r, int s) { return lo + ((r - lo) % s + s) % s; }



// dx (+)= the transposed convolution of dy, per input pixel, its channel blocks in turn: dx(ih, iw)
// gathers dy(oh, ow) w(kh, kw) over oh*s - p + kh = ih, i.e. kh = ih + p - oh*s: every s-th kernel
// row from the first that the stride lets in
void cpu_dw_backward_data(Dev *d, Conv2d o, float *dx, const float *dy, const float *w, bool set)
{
    Shape4 ys = conv2d_out(o);
    int c = o.x.c, taps = o.kh * o.kw;
    float *wt = cpu_scratch(d, 3, (size_t)taps * c);
    if (o.sh == 1 && o.sw == 1) {
        // stride 1: dx(ih, iw) = sum dy(ih + p - kh, iw + p - kw) w(kh, kw), the forward pass over dy
        // with the kernel flipped and padding K - 1 - p, adding into dx
        for (int k = 0; k < c; k++)
            for (int t = 0; t < taps; t++) wt[(size_t)(taps - 1 - t) * c + k] = w[(size_t)k * taps + t];
        Conv2d f = o;
        f.x = ys, f.ph = o.kh - 1 - o.ph, f.pw = o.kw - 1 - o.pw, f.act = ACT_NONE;
        long rows = (long)o.x.n * o.x.h;
#pragma omp parallel for schedule(static)
        for (long r = 0; r < rows; r++) forward_rows(f, o.x, dx, dy, 0, wt, NULL, !set, (int)(r / o.x.h), (int)(r % o.x.h));
        return;
    }
    taps_last(wt, w, c, taps);
    long rows = (long)o.x.n * o.x.h;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / o.x.h), ih = (int)(r % o.x.h), th = ih + o.ph; // kh = th - oh*s
        // kh in [th - (OH-1)*s, th], kh = th (mod s), 0 <= kh < KH
        Window win = {first_congruent(MAX(0, th - (ys.h - 1) * o.sh), th % o.sh, o.sh), MIN(o.kh, th + 1), 0, 0,
                      o.sh};
        for (int iw = 0; iw < o.x.w; iw++) {
            int tw = iw + o.pw;
            win.kw0 = first_congruent(MAX(0, tw - (ys.w - 1) * o.sw), tw % o.sw, o.sw);
            win.kw1 = MIN(o.kw, tw + 1);
            // tap (kh, kw) reads dy at ((th - kh)/s, (tw - kw)/s): from the tap (0, 0) point, kh
            // steps back a row of dy per s kernel rows; as a step of -1/s rows it is a negative
            // offset per kernel row, which window_dot takes as (ah, aw) = (-OW/s .., -1/s)
            float *p = dx + (((size_t)n * o.x.h + ih) * o.x.w + iw) * c;
            int k0 = 0;
            for (; k0 + 16 <= c; k0 += 16) {
                v16 acc = set ? V16(0.0f) : LD(p + k0);
                for (int kh = win.kh0; kh < win.kh1; kh += o.sh) {
                    const float *dr = dy + (((size_t)n * ys.h + (th - kh) / o.sh) * ys.w) * c + k0;
                    const float *wr = wt + (size_t)kh * o.kw * c + k0;
                    for (int kw = win.kw0; kw < win.kw1; kw += o.sw)
                        acc += LD(dr + (size_t)((tw - kw) / o.sw) * c) * LD(wr + (size_t)kw * c);
                }
                *(v16 *)(p + k0) = acc;
            }
            if (k0 < c) {
                int nl = c - k0;
                v16 acc = set ? V16(0.0f) : ldn(p + k0, nl);
                for (int kh = win.kh0; kh < win.kh1; kh += o.sh) {
                    const float *dr = dy + (((size_t)n * ys.h + (th - kh) / o.sh) * ys.w) * c + k0;
                    const float *wr = wt + (size_t)kh * o.kw * c + k0;
                    for (int kw = win.kw0; kw < win.kw1; kw += o.sw)
                        acc += ldn(dr + (size_t)((tw - kw) / o.sw) * c, nl) * ldn(wr + (size_t)kw * c, nl);
                }
                stn(p + k0, acc, nl);
            }
        }
    }
}

// one output row's sums for kernels of KH x KW = 3x3 or 5x5 (T = 9 or 25 accumulators fit the 32
// vector registers): per channel block the taps' sums stay in registers across the row's pixels
// and join the image's sums at the row's end. A kernel row outside the map reads a row of zeros;
// the columns whose taps all land inside run the unrolled taps at fixed offsets, the few at the
// edges check each tap
static inline __attribute__((always_inline)) void weights_row_t(Conv2d o, Shape4 ys, const float *dn,
                                                               const float *xn, const float *zeros, int oh,
                                                               float *pn, const int K)
{
    const int T = K * K;
    int c = o.x.c;
    const float *row[K]; // kernel row kh's x row (its column 0), or zeros
    for (int kh = 0; kh < K; kh++) {
        int ih = oh * o.sh - o.ph + kh;
        row[kh] = ih >= 0 && ih < o.x.h ? xn + (size_t)ih * o.x.w * c : zeros;
    }
    // columns whose K taps all land inside: 0 <= ow*s - p and ow*s - p + K - 1 < W
    int in0 = MIN(ys.w, (o.pw + o.sw - 1) / o.sw), in1 = MAX(in0, MIN(ys.w, floor_div(o.x.w - K + o.pw, o.sw) + 1));
    const float *gr = dn + (size_t)oh * ys.w * c;
    for (int k0 = 0; k0 < c; k0 += 16) {
        int nl = MIN(16, c - k0);
        v16 acc[T];
        for (int t = 0; t < T; t++) acc[t] = ldn(pn + (size_t)t * c + k0, nl);
        for (int ow = 0; ow < ys.w; ow++) {
            if (ow == in0 && nl == 16) // the inside run, unrolled
                for (; ow < in1; ow++) {
                    v16 g = LD(gr + (size_t)ow * c + k0);
                    size_t at = (size_t)(ow * o.sw - o.pw) * c + k0;
                    for (int kh = 0; kh < K; kh++)
                        for (int kw = 0; kw < K; kw++) acc[kh * K + kw] += g * LD(row[kh] + at + (size_t)kw * c);
                }
            if (ow >= ys.w) break;
            v16 g = ldn(gr + (size_t)ow * c + k0, nl);
            for (int kh = 0; kh < K; kh++)
                for (int kw = 0; kw < K; kw++) {
                    int iw = ow * o.sw - o.pw + kw;
                    if (iw >= 0 && iw < o.x.w) acc[kh * K + kw] += g * ldn(row[kh] + (size_t)iw * c + k0, nl);
                }
        }
        for (int t = 0; t < T; t++) stn(pn + (size_t)t * c + k0, acc[t], nl);
    }
}

// dw += sum over (n, oh, ow) of dy * x at each tap; db += sum of dy. An image's sums (taps x C,
// then C) are a row of part, accumulated row by row (3x3 and 5x5: weights_row_t), or per tap and
// output row over the run of columns whose tap lands inside the map (other kernels)
void cpu_dw_backward_weights(Dev *d, Conv2d o, float *dw, float *db, const float *dy, const float *x)
{
    Shape4 ys = conv2d_out(o);
    int c = o.x.c, taps = o.kh * o.kw, per = (taps + 1) * c;
    float *part = cpu_scratch(d, 4, (size_t)o.x.n * per);
    bool fast = (o.kh == 3 && o.kw == 3) || (o.kh == 5 && o.kw == 5);
    float *zeros = fast ? xcalloc((size_t)o.x.w * c + 16, sizeof *zeros) : NULL; // a row outside the map
#pragma omp parallel for schedule(static)
    for (int n = 0; n < o.x.n; n++) {
        float *pn = part + (size_t)n * per, *sb = pn + (size_t)taps * c;
        const float *dn = dy + (size_t)n * ys.h * ys.w * c, *xn = x + (size_t)n * o.x.h * o.x.w * c;
        for (int k0 = 0; k0 < c; k0 += 16) { // db: every output pixel
            int nl = MIN(16, c - k0);
            v16 s0 = V16(0.0f), s1 = V16(0.0f);
            size_t px = (size_t)ys.h * ys.w, i = 0;
            for (; i + 1 < px; i += 2) s0 += ldn(dn + i * c + k0, nl), s1 += ldn(dn + (i + 1) * c + k0, nl);
            if (i < px) s0 += ldn(dn + i * c + k0, nl);
            stn(sb + k0, s0 + s1, nl);
        }
        if (fast) {
            memset(pn, 0, (size_t)taps * c * sizeof *pn);
            for (int oh = 0; oh < ys.h; oh++)
                if (o.kh == 3) weights_row_t(o, ys, dn, xn, zeros, oh, pn, 3);
                else weights_row_t(o, ys, dn, xn, zeros, oh, pn, 5);
            continue;
        }
        for (int kh = 0; kh < o.kh; kh++)
            for (int kw = 0; kw < o.kw; kw++) {
                // output columns whose tap lands inside: 0 <= ow*s - p + kw < W
                int ow0 = MAX(0, (o.pw - kw + o.sw - 1) / o.sw), ow1 = MIN(ys.w, floor_div(o.x.w - 1 + o.pw - kw, o.sw) + 1);
                float *acc_t = pn + (size_t)(kh * o.kw + kw) * c;
                for (int k0 = 0; k0 < c; k0 += 16) {
                    int nl = MIN(16, c - k0);
                    v16 a0 = V16(0.0f);
                    for (int oh = 0; oh < ys.h; oh++) {
                        int ih = oh * o.sh - o.ph + kh;
                        if (ih < 0 || ih >= o.x.h) continue;
                        const float *gr = dn + (size_t)oh * ys.w * c + k0;
                        const float *xr = xn + ((size_t)ih * o.x.w + (ow0 * o.sw - o.pw + kw)) * c + k0;
                        for (int ow = ow0; ow < ow1; ow++, xr += (size_t)o.sw * c)
                            a0 += ldn(gr + (size_t)ow * c, nl) * ldn(xr, nl);
                    }
                    stn(acc_t + k0, a0, nl);
                }
            }
    }
    free(zeros);
    // the images' sums in image order (row after row: contiguous, vectorized), then into the
    // caller's (C, KH, KW) and (C)
    float *sum = part; // image 0's row collects the others
    for (int n = 1; n < o.x.n; n++) {
        const float *pn = part + (size_t)n * per;
#pragma omp simd
        for (int i = 0; i < per; i++) sum[i] += pn[i];
    }
    for (int k = 0; k < c; k++) {
        for (int t = 0; t < taps && dw; t++) dw[(size_t)k * taps + t] += sum[(size_t)t * c + k];
        if (db) db[k] += sum[(size_t)taps * c + k];
    }
}
