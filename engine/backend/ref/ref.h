/* engine/backend/ref/ref.h — the plain-C oracle backend: one function per OpTable entry.
 *
 * Plain loops written to be obviously right, in the order of the math, with double accumulators
 * where a sum runs long. Nothing clever: every other backend is tested against these.
 */
#ifndef REF_H
#define REF_H

#include "../ops.h"

// NHWC index
static inline size_t ref_at(Shape4 s, int n, int h, int w, int c)
{
    return (((size_t)n * s.h + h) * s.w + w) * s.c + c;
}

OPS_DECLARE(ref) // every op of ops.h as ref_<op>
OpFn_conv2d_chain_forward ref_conv2d_chain_forward;

#endif
