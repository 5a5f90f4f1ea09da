/* engine/backend/cpu/linear.c — the fully connected layer on oneDNN's sgemm (cpu_sgemm: fixed blocks).
 *
 * x (N,IN), w (OUT,IN), y (N,OUT), all row-major. dnnl_sgemm takes beta, so the backward GEMMs
 * accumulate into dx and dw directly (beta = 1) with no scratch pass; bias and its gradient are
 * OpenMP loops. (oneDNN's inner-product primitive overwrites its outputs and at the classifier's
 * sizes runs the same GEMM.)
 */
#include "cpu.h"

void cpu_linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w, const float *b)
{
    // y(N,OUT) = x(N,IN) * w(OUT,IN)^T
    cpu_sgemm(d, 'N', 'T', op.n, op.out, op.in, 1.0f, x, op.in, w, op.in, 0.0f, y, op.out);
    if (!b) return;
#pragma omp parallel for schedule(static) if ((size_t)op.n * op.out > 32768)
    for (int i = 0; i < op.n; i++)
        for (int o = 0; o < op.out; o++) y[(size_t)i * op.out + o] += b[o];
}

void cpu_linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, GradSet set)
{
    if (dx) // dx(N,IN) += dy(N,OUT) * w(OUT,IN)
        cpu_sgemm(d, 'N', 'N', op.n, op.in, op.out, 1.0f, dy, op.out, w, op.in, 1.0f, dx, op.in);
    if (dw) // dw(OUT,IN) += dy(N,OUT)^T * x(N,IN)
        cpu_sgemm(d, 'T', 'N', op.out, op.in, op.n, 1.0f, dy, op.out, x, op.in, 1.0f, dw, op.in);
    if (!db) return;
    for (int o = 0; o < op.out; o++) {
        double s = 0;
        for (int i = 0; i < op.n; i++) s += dy[(size_t)i * op.out + o];
        db[o] += (float)s;
    }
}
