/* engine/backend/cuda/table.cu — the GPU backend's op table (every op of ops.h, as cuda_<op>)
 * and the one symbol bin/libengine_cuda.so exports to dev.c: the table with the device hooks.
 */
#include "../backends.h"
#include "cuda.h"

// no write paths yet (ops.c zero-fills); no 1x1 -> depthwise chain (ops.c runs its two convolutions)
extern "C" const OpTable cuda_ops = {FOR_EACH_OP(OP_ENTRY, cuda).set_ok = 0, .conv2d_chain_forward = nullptr};

static const DevMem cuda_mem = {cuda_dev_alloc,    cuda_dev_free,    cuda_dev_upload,
                                cuda_dev_download, cuda_dev_memset0, cuda_dev_sync};

extern "C" __attribute__((visibility("default"))) const CudaBackend cuda_backend = {
    &cuda_ops, &cuda_mem, cuda_dev_present, cuda_dev_init, cuda_dev_fini,
};
