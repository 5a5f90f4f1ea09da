/* engine/backend/cuda/nccl.cu — the GPU's collectives of a data-parallel run (core/dev.h's
 * DevColl): NCCL, as llm.c uses it. Rank 0 makes the unique id, MPI's broadcast (the caller's
 * bcast) hands it to every rank, each joins with ncclCommInitRank on the GPU dev.cu chose for its
 * local rank; the gradients are then summed in place on the default stream, which the op kernels
 * use too (no extra synchronization: a later download waits for it). Ranks sharing a GPU (more on
 * a host than it has devices) cannot join one NCCL communicator: open says ERR_ARG and the trainer
 * sums through host copies over MPI instead. libnccl.so.2 is loaded when a run first asks for it
 * (dlopen), so the cuda backend still loads where NCCL is missing: such a run is told so and sums
 * through host copies. Without nccl.h at build time cuda_coll is NULL.
 */
#include <dlfcn.h>  // dlopen: libnccl.so.2 on first use
#include <string.h> // strlen
#include <unistd.h> // gethostname: the GPU's key

#include "cuda.h"

#ifdef HAVE_NCCL
#include <nccl.h>

// the NCCL calls used here, from libnccl.so.2
static struct {
    ncclResult_t (*get_unique_id)(ncclUniqueId *);
    ncclResult_t (*init_rank)(ncclComm_t *, int, ncclUniqueId, int);
    ncclResult_t (*all_reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
    ncclResult_t (*destroy)(ncclComm_t);
    const char *(*error_string)(ncclResult_t);
} nc;

// 0 when libnccl.so.2 is loaded (now or before), else ERR_ARG with one line
static int nccl_load(void)
{
    if (nc.all_reduce) return 0;
    void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h) {
        *(void **)&nc.get_unique_id = dlsym(h, "ncclGetUniqueId");
        *(void **)&nc.init_rank = dlsym(h, "ncclCommInitRank");
        *(void **)&nc.destroy = dlsym(h, "ncclCommDestroy");
        *(void **)&nc.error_string = dlsym(h, "ncclGetErrorString");
        *(void **)&nc.all_reduce = dlsym(h, "ncclAllReduce");
    }
    if (h && nc.get_unique_id && nc.init_rank && nc.destroy && nc.error_string && nc.all_reduce) return 0;
    log_error("backend cuda: NCCL unavailable (%s): the ranks sum their gradients through host copies over MPI",
              h ? "libnccl.so.2 lacks a function" : dlerror());
    nc.all_reduce = NULL;
    return ERR_ARG;
}

static int nccl_failed(const char *call, ncclResult_t r)
{
    log_error("backend cuda: %s failed: %s", call, nc.error_string(r));
    return ERR_DEVICE;
}

// this rank's GPU, as a key every rank can compare: the host and the device's PCI bus id (two ranks
// with the same key share a GPU, whatever CUDA_VISIBLE_DEVICES shows each of them)
static uint64_t gpu_key(void)
{
    char bus[64] = "?", host[256] = "?";
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetPCIBusId(bus, sizeof bus, dev) != cudaSuccess)
        cudaGetLastError();
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    return fnv1a(bus, strlen(bus), fnv1a("/", 1, fnv1a(host, strlen(host), FNV_SEED)));
}

static int nccl_open(Dev *d, int rank, int world, int local_world, const DevCollHost *h)
{
    CudaCtx *c = cuda_ctx(d);
    // every rank, whatever it finds, reaches the same collectives in the same order, and all take
    // the same path: NCCL when every rank has the library and a GPU no other rank has
    bool loaded = nccl_load() == 0, distinct = h->distinct(h->user, gpu_key());
    if (!h->all(h->user, loaded && distinct)) return ERR_ARG; // every rank goes through host copies
    struct { ncclResult_t r; ncclUniqueId id; } got = {ncclSuccess, {}};
    if (rank == 0) got.r = nc.get_unique_id(&got.id);
    int rc = h->bcast(h->user, &got, sizeof got); // the id, or rank 0's failure, to every rank
    if (rc) return rc;
    if (got.r != ncclSuccess) return nccl_failed("ncclGetUniqueId (rank 0)", got.r);
    ncclComm_t comm = NULL;
    ncclResult_t r = nc.init_rank(&comm, world, got.id, rank);
    bool ok = h->all(h->user, r == ncclSuccess); // a rank whose init failed fails them all
    if (!ok) {
        if (r == ncclSuccess) nc.destroy(comm);
        return r != ncclSuccess ? nccl_failed("ncclCommInitRank", r) : ERR_DEVICE;
    }
    c->nccl = comm;
    return 0;
}

static int nccl_allreduce_sum(Dev *d, float *buf, size_t n)
{
    CudaCtx *c = cuda_ctx(d);
    CHECK(c->nccl, "nccl_allreduce_sum: no communicator (DevColl.open first)");
    ncclResult_t r = nc.all_reduce(buf, buf, n, ncclFloat, ncclSum, (ncclComm_t)c->nccl, 0);
    return r == ncclSuccess ? 0 : nccl_failed("ncclAllReduce", r);
}

void cuda_coll_fini(CudaCtx *c)
{
    if (c->nccl) nc.destroy((ncclComm_t)c->nccl);
    c->nccl = NULL;
}

static const DevColl nccl_coll = {nccl_open, nccl_allreduce_sum};
const DevColl *const cuda_coll = &nccl_coll;
#else
void cuda_coll_fini(CudaCtx *c) { (void)c; }
const DevColl *const cuda_coll = NULL;
#endif
