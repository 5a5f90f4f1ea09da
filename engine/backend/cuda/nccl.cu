/* engine/backend/cuda/nccl.cu — the GPU's collectives of a data-parallel run (core/dev.h's
 * DevColl): NCCL, as llm.c uses it. Rank 0 makes the unique id, MPI's broadcast (the caller's
 * bcast) hands it to every rank, each joins with ncclCommInitRank on the GPU dev.cu chose for its
 * local rank; the gradients are then summed in place on the default stream, which the op kernels
 * use too (no extra synchronization: a later download waits for it). Ranks sharing a GPU (more on
 * a host than it has devices) cannot join one NCCL communicator: open says ERR_ARG and the trainer
 * sums through host copies over MPI instead. Without nccl.h at build time cuda_coll is NULL.
 */
#include "cuda.h"

#ifdef HAVE_NCCL
#include <nccl.h>

static int nccl_failed(const char *call, ncclResult_t r)
{
    log_error("backend cuda: %s failed: %s", call, ncclGetErrorString(r));
    return ERR_DEVICE;
}

static int nccl_open(Dev *d, int rank, int world, int local_world, int (*bcast)(void *, void *, size_t), void *user)
{
    CudaCtx *c = cuda_ctx(d);
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < local_world) {
        cudaGetLastError();
        return ERR_ARG; // shared GPUs: host copies
    }
    ncclUniqueId id;
    ncclResult_t r;
    if (rank == 0 && (r = ncclGetUniqueId(&id)) != ncclSuccess) return nccl_failed("ncclGetUniqueId", r);
    int rc = bcast(user, &id, sizeof id);
    if (rc) return rc;
    ncclComm_t comm;
    if ((r = ncclCommInitRank(&comm, world, id, rank)) != ncclSuccess) return nccl_failed("ncclCommInitRank", r);
    c->nccl = comm;
    return 0;
}

static int nccl_allreduce_sum(Dev *d, float *buf, size_t n)
{
    CudaCtx *c = cuda_ctx(d);
    CHECK(c->nccl, "nccl_allreduce_sum: no communicator (DevColl.open first)");
    ncclResult_t r = ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, (ncclComm_t)c->nccl, 0);
    return r == ncclSuccess ? 0 : nccl_failed("ncclAllReduce", r);
}

void cuda_coll_fini(CudaCtx *c)
{
    if (c->nccl) ncclCommDestroy((ncclComm_t)c->nccl);
    c->nccl = NULL;
}

static const DevColl nccl_coll = {nccl_open, nccl_allreduce_sum};
const DevColl *const cuda_coll = &nccl_coll;
#else
void cuda_coll_fini(CudaCtx *c) { (void)c; }
const DevColl *const cuda_coll = NULL;
#endif
