/* engine/backend/ref/eltwise.c — the oracle's elementwise ops: activations (op_math.h), add,
 * the elementwise product, the SE channel gate, dropout and drop-path (masks from rng.h,
 * recomputed in backward), and channel zero-padding (the option-A ResNet shortcut).
 */
#include "../op_math.h"
#include "../../core/rng.h"
#include "ref.h"

void ref_act_forward(Dev *d, Act op, float *y, const float *x)
{
    for (size_t i = 0; i < op.n; i++) y[i] = act_f(op.act, x[i]);
}

void ref_act_backward(Dev *d, Act op, float *dx, const float *dy, const float *x, GradSet set)
{
    for (size_t i = 0; i < op.n; i++) dx[i] += dy[i] * act_df(op.act, x[i]);
}

void ref_add_forward(Dev *d, Add op, float *y, const float *a, const float *b)
{
    for (size_t i = 0; i < op.n; i++) y[i] = act_f(op.act, a[i] + b[i]);
}

// act'(a + b) read off y: relu and relu6 pass the gradient exactly where their output is inside
// (0, 6) resp. above 0, which act_df evaluated at y tells
void ref_add_backward(Dev *d, Add op, float *da, float *db, const float *dy, const float *y, GradSet set)
{
    for (size_t i = 0; i < op.n; i++) {
        float g = op.act == ACT_NONE ? dy[i] : dy[i] * act_df(op.act, y[i]);
        if (da) da[i] += g;
        if (db) db[i] += g;
    }
}

void ref_mul_forward(Dev *d, Mul op, float *y, const float *a, const float *b)
{
    for (size_t i = 0; i < op.n; i++) y[i] = a[i] * b[i];
}

void ref_mul_backward(Dev *d, Mul op, float *da, float *db, const float *dy, const float *a,
                      const float *b, GradSet set)
{
    for (size_t i = 0; i < op.n; i++) {
        if (da) da[i] += dy[i] * b[i];
        if (db) db[i] += dy[i] * a[i];
    }
}

void ref_chanmul_forward(Dev *d, ChanMul op, float *y, const float *x, const float *s)
{
    for (int n = 0; n < op.x.n; n++)
        for (int h = 0; h < op.x.h; h++)
            for (int w = 0; w < op.x.w; w++)
                for (int c = 0; c < op.x.c; c++) {
                    size_t i = ref_at(op.x, n, h, w, c);
                    y[i] = x[i] * s[(size_t)n * op.x.c + c];
                }
}

void ref_chanmul_backward(Dev *d, ChanMul op, float *dx, float *ds, const float *dy,
                          const float *x, const float *s, GradSet set)
{
    for (int n = 0; n < op.x.n; n++)
        for (int c = 0; c < op.x.c; c++) {
            double acc = 0;
            for (int h = 0; h < op.x.h; h++)
                for (int w = 0; w < op.x.w; w++) {
                    size_t i = ref_at(op.x, n, h, w, c);
                    if (dx) dx[i] += dy[i] * s[(size_t)n * op.x.c + c];
                    acc += (double)dy[i] * x[i];
                }
            if (ds) ds[(size_t)n * op.x.c + c] += (float)acc;
        }
}

// ---------------------------------------------------------------------------------------------
// dropout: element j of sample i kept when rng_uniform(key, sample0 + i, j) >= p

void ref_dropout_forward(Dev *d, Drop op, float *y, const float *x)
{
    float scale = 1.0f / (1.0f - op.p);
    for (int i = 0; i < op.n; i++)
        for (size_t j = 0; j < op.per_sample; j++) {
            size_t k = (size_t)i * op.per_sample + j;
            bool keep = rng_uniform(op.key, op.sample0 + i, j) >= op.p;
            y[k] = keep ? x[k] * scale : 0.0f;
        }
}

void ref_dropout_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    float scale = 1.0f / (1.0f - op.p);
    for (int i = 0; i < op.n; i++)
        for (size_t j = 0; j < op.per_sample; j++) {
            size_t k = (size_t)i * op.per_sample + j;
            if (rng_uniform(op.key, op.sample0 + i, j) >= op.p) dx[k] += dy[k] * scale;
        }
}

// drop-path: one draw per sample, rng_uniform(key, 0, sample0 + i)

void ref_droppath_forward(Dev *d, Drop op, float *y, const float *x)
{
    float scale = 1.0f / (1.0f - op.p);
    for (int i = 0; i < op.n; i++) {
        bool keep = rng_uniform(op.key, 0, op.sample0 + i) >= op.p;
        for (size_t j = 0; j < op.per_sample; j++) {
            size_t k = (size_t)i * op.per_sample + j;
            y[k] = keep ? x[k] * scale : 0.0f;
        }
    }
}

void ref_droppath_backward(Dev *d, Drop op, float *dx, const float *dy, GradSet set)
{
    float scale = 1.0f / (1.0f - op.p);
    for (int i = 0; i < op.n; i++) {
        if (rng_uniform(op.key, 0, op.sample0 + i) < op.p) continue;
        for (size_t j = 0; j < op.per_sample; j++) {
            size_t k = (size_t)i * op.per_sample + j;
            dx[k] += dy[k] * scale;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// channel zero-padding: y[..., before + k] = x[..., k], zeros in the other channels (a slice leaves
// them)

void ref_chanpad_forward(Dev *d, ChanPad op, float *y, const float *x)
{
    Shape4 ys = chanpad_out(op);
    for (int n = 0; n < op.x.n; n++)
        for (int h = 0; h < op.x.h; h++)
            for (int w = 0; w < op.x.w; w++)
                for (int c = 0; c < ys.c; c++) {
                    int k = c - op.before; // x's channel, when in range
                    bool in_x = k >= 0 && k < op.x.c;
                    if (in_x || !op.slice) y[ref_at(ys, n, h, w, c)] = in_x ? x[ref_at(op.x, n, h, w, k)] : 0.0f;
                }
}

void ref_chanpad_backward(Dev *d, ChanPad op, float *dx, const float *dy, GradSet set)
{
    Shape4 ys = chanpad_out(op);
    for (int n = 0; dx && n < op.x.n; n++)
        for (int h = 0; h < op.x.h; h++)
            for (int w = 0; w < op.x.w; w++)
                for (int k = 0; k < op.x.c; k++)
                    dx[ref_at(op.x, n, h, w, k)] += dy[ref_at(ys, n, h, w, op.before + k)];
}
