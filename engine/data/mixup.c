/* engine/data/mixup.c — Mixup / CutMix decisions, pixels and targets (mixup.h).
 *
 * Arithmetic follows timm's tensors: pixels and targets in float32 with lambda rounded to float
 * (batch mode multiplies by the Python float lambda, which PyTorch casts to the tensor's float;
 * pair and elem mode keep lambda in a float32 array). Pairs (i, n-1-i) are mixed together from
 * copies of both, so no batch-sized copy is needed.
 */
#include "mixup.h"

#include <math.h>   // sqrt, log, pow
#include <string.h> // memcpy

enum { PURPOSE_MIX = 0x31C, MIX_DRAWS = 64, SLOT_BETA = 6 }; // slots: prob, switch, box (4), Beta

bool mixup_on(const MixArgs *m)
{
    return m->mixup_alpha > 0 || m->cutmix_alpha > 0 || m->cutmix_minmax[1] > 0;
}

// ---------------------------------------------------------------------------------------------
// draws

// Gamma(a) for a >= 1 by Marsaglia and Tsang (2000): 3 uniforms per attempt, 9 attempts; the
// mean a if all are rejected (probability below 1e-11)
static double gamma_mt(double a, Draws *d)
{
    double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (int attempt = 0; attempt < 9; attempt++) {
        double x = draws_normal(d), v = 1.0 + c * x, u = draws_next(d);
        if (v <= 0) continue;
        v = v * v * v;
        if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + dd * (1.0 - v + log(v))) return dd * v;
    }
    return a;
}

// Gamma(a) for any a > 0: below 1, Gamma(a + 1) U^(1/a) (one more uniform)
static double gamma_draw(double a, Draws *d)
{
    if (a >= 1) return gamma_mt(a, d);
    double u = draws_next(d);
    return gamma_mt(a + 1, d) * pow(1.0 - u, 1.0 / a);
}

double mixup_beta(double a, Draws *d)
{
    double x = gamma_draw(a, d), y = gamma_draw(a, d);
    return x + y > 0 ? x / (x + y) : 0.5;
}

void mixup_box(const MixArgs *m, MixDecision *dec, int h, int w, const float u[4])
{
    int *b = dec->box; // y0, y1, x0, x1
    if (m->cutmix_minmax[1] > 0) { // rand_bbox_minmax: np.random.randint's high is exclusive
        int lo_h = (int)(h * (double)m->cutmix_minmax[0]), hi_h = (int)(h * (double)m->cutmix_minmax[1]);
        int lo_w = (int)(w * (double)m->cutmix_minmax[0]), hi_w = (int)(w * (double)m->cutmix_minmax[1]);
        int ch = lo_h + MIN((int)(u[0] * (hi_h - lo_h)), hi_h - lo_h - 1);
        int cw = lo_w + MIN((int)(u[1] * (hi_w - lo_w)), hi_w - lo_w - 1);
        b[0] = MIN((int)(u[2] * (h - ch + 1)), h - ch);
        b[2] = MIN((int)(u[3] * (w - cw + 1)), w - cw);
        b[1] = b[0] + ch;
        b[3] = b[2] + cw;
    } else { // rand_bbox: sides from lambda, centre uniform, clipped
        double ratio = sqrt(1.0 - dec->lam);
        int ch = (int)(h * ratio), cw = (int)(w * ratio);
        int cy = MIN((int)(u[0] * h), h - 1), cx = MIN((int)(u[1] * w), w - 1);
        b[0] = MAX(0, MIN(cy - ch / 2, h));
        b[1] = MAX(0, MIN(cy + (ch + 1) / 2, h));
        b[2] = MAX(0, MIN(cx - cw / 2, w));
        b[3] = MAX(0, MIN(cx + (cw + 1) / 2, w));
    }
    if (m->correct_lam || m->cutmix_minmax[1] > 0)
        dec->lam = 1.0 - (double)((b[1] - b[0]) * (b[3] - b[2])) / (double)(h * w);
}

void mixup_draw(const MixArgs *m, MixDecision *dec, int h, int w, Draws *d)
{
    *dec = (MixDecision){.lam = 1};
    float u_prob = draws_next(d), u_switch = draws_next(d), u_box[4];
    for (int k = 0; k < 4; k++) u_box[k] = draws_next(d);
    bool mixup = m->mixup_alpha > 0, cutmix = m->cutmix_alpha > 0 || m->cutmix_minmax[1] > 0;
    if (!(u_prob < m->prob) || !(mixup || cutmix)) return;
    dec->cutmix = mixup && cutmix ? u_switch < m->switch_prob : cutmix;
    // timm forces alpha 1 when minmax is set
    double alpha = !dec->cutmix ? m->mixup_alpha : m->cutmix_minmax[1] > 0 ? 1.0 : m->cutmix_alpha;
    d->k = SLOT_BETA;
    dec->lam = mixup_beta(alpha, d);
    dec->mix = dec->lam != 1.0;
    if (dec->mix && dec->cutmix) mixup_box(m, dec, h, w, u_box);
}

// ---------------------------------------------------------------------------------------------
// pixels and targets

// lambda and 1 - lambda as timm multiplies: batch mode casts the double lambda and 1 - lambda to
// float; pair and elem mode hold lambda in a float32 array and subtract in float32
static void lambdas(const MixArgs *m, const MixDecision *dec, float *lam, float *rest)
{
    *lam = (float)dec->lam;
    *rest = m->mode == MIX_BATCH ? (float)(1.0 - dec->lam) : 1.0f - *lam;
}

// x_i from copies of the pair (a = x_i, b = x_{n-1-i}) under decision dec
static void mix_one(const MixArgs *m, const MixDecision *dec, float *xi, const float *a, const float *b, int h,
                    int w, int c)
{
    if (!dec->mix) return;
    size_t n = (size_t)h * w * c;
    if (!dec->cutmix) {
        float lam, rest;
        lambdas(m, dec, &lam, &rest);
        for (size_t k = 0; k < n; k++) xi[k] = a[k] * lam + b[k] * rest;
        return;
    }
    for (int y = dec->box[0]; y < dec->box[1]; y++)
        memcpy(xi + ((size_t)y * w + dec->box[2]) * c, b + ((size_t)y * w + dec->box[2]) * c,
               (size_t)(dec->box[3] - dec->box[2]) * c * sizeof *xi);
}

void mixup_apply(const MixArgs *m, const MixDecision *dec, float *x, float *targets, const int *labels,
                 int n, int h, int w, int c, float *scratch)
{
    size_t sz = (size_t)h * w * c;
    float *a = scratch, *b = scratch + sz;
    for (int i = 0; i < (n + 1) / 2; i++) {
        int j = n - 1 - i;
        const MixDecision *di = m->mode == MIX_BATCH ? dec : &dec[i];
        const MixDecision *dj = m->mode == MIX_BATCH ? dec : m->mode == MIX_PAIR ? &dec[i] : &dec[j];
        memcpy(a, x + i * sz, sz * sizeof *a);
        memcpy(b, x + j * sz, sz * sizeof *b);
        mix_one(m, di, x + i * sz, a, b, h, w, c);
        if (j != i) mix_one(m, dj, x + j * sz, b, a, h, w, c);
    }
    // mixup_target: smoothed one-hot rows, y_i lambda_i + y_{n-1-i} (1 - lambda_i)
    float off = (float)(m->smoothing / m->classes), on = (float)(1.0 - m->smoothing + m->smoothing / m->classes);
    for (int i = 0; i < n; i++) {
        const MixDecision *di = m->mode == MIX_BATCH ? dec : m->mode == MIX_PAIR ? &dec[MIN(i, n - 1 - i)] : &dec[i];
        float lam, rest, *t = targets + (size_t)i * m->classes;
        lambdas(m, di, &lam, &rest);
        for (int k = 0; k < m->classes; k++) {
            float y1 = k == labels[i] ? on : off, y2 = k == labels[n - 1 - i] ? on : off;
            t[k] = y1 * lam + y2 * rest;
        }
    }
}

void mixup_batch(const MixArgs *m, float *x, float *targets, const int *labels, const uint64_t *draw_index,
                 int n, int h, int w, int c, uint64_t seed, int epoch, int step, MixDecision *dec,
                 float *scratch)
{
    MixArgs on = *m;
    if (m->off_epoch > 0 && epoch >= m->off_epoch) on.prob = 0; // timm's mixup_enabled = False
    int count = m->mode == MIX_BATCH ? 1 : m->mode == MIX_PAIR ? n / 2 : n;
    for (int i = 0; i < count; i++) {
        Draws d = draws_open(seed, PURPOSE_MIX, epoch, m->mode == MIX_BATCH ? (uint64_t)step : draw_index[i],
                             MIX_DRAWS);
        mixup_draw(&on, &dec[i], h, w, &d);
    }
    mixup_apply(m, dec, x, targets, labels, n, h, w, c, scratch);
}
