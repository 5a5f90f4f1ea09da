/* engine/backend/cpu/optim.c — the optimizer's updates and the vector helpers on host memory:
 * op_math.h's per-element formulas (the same as ref's), split over threads above PAR_MIN values;
 * element-wise, so the bits do not depend on the threads. Sums of squares stay serial, in order:
 * a norm is the same every run and at any thread count. */
#include "../op_math.h"
#include "cpu.h"

enum { PAR_MIN = 65536 }; // fewer values than this stay on one thread

void cpu_optim_update(Dev *d, OptimUpd op, float *w, const float *g, float *s0, float *s1, float *u)
{
#pragma omp parallel for schedule(static) if (op.n > PAR_MIN)
    for (size_t j = 0; j < op.n; j++)
        optim_elem(&op, &w[j], g ? g[j] : 0.0f, s0 ? &s0[j] : NULL, s1 ? &s1[j] : NULL, u ? &u[j] : NULL);
}

void cpu_axpy(Dev *d, Vec op, float *y, const float *x)
{
#pragma omp parallel for simd schedule(static) if (op.n > PAR_MIN)
    for (size_t j = 0; j < op.n; j++) y[j] += op.a * x[j];
}

void cpu_scale(Dev *d, Vec op, float *x)
{
#pragma omp parallel for simd schedule(static) if (op.n > PAR_MIN)
    for (size_t j = 0; j < op.n; j++) x[j] *= op.a;
}

void cpu_lerp(Dev *d, Vec op, float *e, const float *w)
{
#pragma omp parallel for simd schedule(static) if (op.n > PAR_MIN)
    for (size_t j = 0; j < op.n; j++) e[j] += op.a * (w[j] - e[j]);
}

void cpu_sumsq(Dev *d, Vec op, const float *x, double *acc)
{
    double s = *acc;
    for (size_t j = 0; j < op.n; j++) s += (double)x[j] * x[j];
    *acc = s;
}
