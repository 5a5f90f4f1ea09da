/* engine/backend/ref/optim.c — the optimizer's updates and the vector helpers, plain loops over
 * op_math.h's per-element formulas; sums of squares in float64, in order. */
#include "../op_math.h"
#include "ref.h"

void ref_optim_update(Dev *d, OptimUpd op, float *w, const float *g, float *s0, float *s1, float *u)
{
    for (size_t j = 0; j < op.n; j++)
        optim_elem(&op, &w[j], g ? g[j] : 0.0f, s0 ? &s0[j] : NULL, s1 ? &s1[j] : NULL, u ? &u[j] : NULL);
}

void ref_axpy(Dev *d, Vec op, float *y, const float *x)
{
    for (size_t j = 0; j < op.n; j++) y[j] += op.a * x[j];
}

void ref_scale(Dev *d, Vec op, float *x)
{
    for (size_t j = 0; j < op.n; j++) x[j] *= op.a;
}

void ref_lerp(Dev *d, Vec op, float *e, const float *w)
{
    for (size_t j = 0; j < op.n; j++) e[j] += op.a * (w[j] - e[j]);
}

void ref_sumsq(Dev *d, Vec op, const float *x, double *acc)
{
    double s = *acc;
    for (size_t j = 0; j < op.n; j++) s += (double)x[j] * x[j];
    *acc = s;
}
