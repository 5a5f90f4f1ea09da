/* engine/backend/ref/linear.c — the oracle fully connected layer: y = x w^T + b.
 * x (N,IN), w (OUT,IN) as PyTorch stores it, b (OUT), y (N,OUT). Sums in double.
 */
#include "ref.h"

void ref_linear_forward(Dev *d, Linear op, float *y, const float *x, const float *w, const float *b)
{
    for (int n = 0; n < op.n; n++)
        for (int o = 0; o < op.out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int i = 0; i < op.in; i++)
                acc += (double)x[(size_t)n * op.in + i] * w[(size_t)o * op.in + i];
            y[(size_t)n * op.out + o] = (float)acc;
        }
}

void ref_linear_backward(Dev *d, Linear op, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, GradSet set)
{
    for (int n = 0; dx && n < op.n; n++)
        for (int i = 0; i < op.in; i++) {
            double acc = 0;
            for (int o = 0; o < op.out; o++)
                acc += (double)dy[(size_t)n * op.out + o] * w[(size_t)o * op.in + i];
            dx[(size_t)n * op.in + i] += (float)acc;
        }
    for (int o = 0; dw && o < op.out; o++)
        for (int i = 0; i < op.in; i++) {
            double acc = 0;
            for (int n = 0; n < op.n; n++)
                acc += (double)dy[(size_t)n * op.out + o] * x[(size_t)n * op.in + i];
            dw[(size_t)o * op.in + i] += (float)acc;
        }
    for (int o = 0; db && o < op.out; o++) {
        double acc = 0;
        for (int n = 0; n < op.n; n++) acc += dy[(size_t)n * op.out + o];
        db[o] += (float)acc;
    }
}
