/* engine/backend/cuda/table.cu — the GPU backend's op table: every op of ops.h, as cuda_<op>. */
#include "cuda.h"

extern "C" const OpTable cuda_ops = OPS_TABLE(cuda);
