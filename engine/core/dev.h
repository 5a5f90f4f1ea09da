/* engine/core/dev.h — a device: where buffers live and what computes on them.
 *
 * Everything above the backends (the parameter table, the arena, the trainer) sees a device as a
 * Dev and its memory through the calls below; which backend it is matters only to dev_open
 * (backend/ops.h), which fills in the memory table, the op table and the teardown. Like ggml's
 * backend buffer interface: the memory calls go through d->mem, never a test of the backend's
 * name. ref and cpu keep host memory (dev_host_mem); cuda keeps device memory (its own table).
 */
#ifndef DEV_H
#define DEV_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct OpTable OpTable; // the ops a backend computes (backend/ops.h)
typedef struct Dev Dev;

// numeric mode of a device: the cuda backend can compute in bf16 with float32 accumulation while
// every buffer the caller sees (weights = float32 master copy, activations, grads) stays float32
typedef enum { PREC_FP32 = 0, PREC_BF16 = 1 } Precision;

// a backend's memory: synchronous copies, ordered after the work queued before them
typedef struct {
    void *(*alloc)(size_t bytes);     // NULL when out of memory; bytes a multiple of 128
    void  (*free)(void *p);
    void  (*upload)(void *dst, const void *src, size_t bytes);   // host -> device
    void  (*download)(void *dst, const void *src, size_t bytes); // device -> host
    void  (*memset0)(void *p, size_t bytes);
    void  (*sync)(void);              // wait for queued work
} DevMem;

extern const DevMem dev_host_mem; // host memory (ref, cpu): aligned_alloc, memcpy

// a backend's collectives over its own memory, for the ranks of a data-parallel run (cuda: NCCL,
// llm.c's way: MPI hands out the id, NCCL sums the gradients on the GPUs). NULL on host-memory
// backends, whose buffers MPI takes directly (dist/comm.h)
// what the device communicator needs from the host's (MPI): a broadcast from rank 0, and whether
// every rank says yes (so that all ranks take the same path, or none)
typedef struct {
    int  (*bcast)(void *user, void *buf, size_t bytes); // 0 or an error
    bool (*all)(void *user, bool yes);                   // yes on every rank (false on an error)
    bool (*distinct)(void *user, uint64_t key);          // every rank's key differs from the others'
    void  *user;
} DevCollHost;

typedef struct {
    // joins the device communicator of `world` ranks (local_world of them on this host): every
    // rank first says whether it can (its library loads, and no other rank has its GPU: ranks
    // sharing one cannot join), and only when all can is the id (or rank 0's failure) sent from
    // rank 0 and the communicator made, its success agreed. 0; ERR_ARG when some rank cannot (all
    // ranks then sum through host copies); ERR_DEVICE with one line (on every rank)
    int (*open)(Dev *d, int rank, int world, int local_world, const DevCollHost *h);
    int (*allreduce_sum)(Dev *d, float *buf, size_t n); // in place, device memory; 0 or ERR_DEVICE
} DevColl;

struct Dev {
    const char    *name;   // the backend's: "ref", "cpu", "cuda"
    const OpTable *ops;
    const DevMem  *mem;
    void         (*fini)(Dev *d); // frees ctx; NULL when the backend keeps none
    Precision      prec;
    int            variant; // 0: each backend's default kernel versions; 1: the alternatives kept
                            // in the shipped files for comparison (the op test runs both)
    void          *ctx;    // backend-private: primitive caches, handles, streams, scratch
    char           desc[160]; // what computes, for run files: "AMD EPYC (2 OpenMP threads)" (ref,
                              // cpu: /proc/cpuinfo and omp_get_max_threads), "NVIDIA H200 (140 GiB)"
    const DevColl *coll;   // collectives over device memory (cuda with NCCL); NULL: none
    bool           host;   // its buffers are host memory (ref, cpu): host code may touch them.
                           // Host code that must work on any backend (the trainer, the optimizer,
                           // checkpoints) goes through dev_upload/dev_download or the parameter
                           // table's host copies (params.h) instead. REPRO_DEV_STAGED=1 in the
                           // environment makes ref and cpu say false too, so that the tests run
                           // those copies on this machine as they run on cuda.
};

void  dev_close(Dev *d);                                 // the backend's fini; zeroes *d
void *dev_alloc(Dev *d, size_t bytes);                  // 128-byte aligned; fatal when out of memory
void  dev_free(Dev *d, void *p);
void  dev_upload(Dev *d, void *dst, const void *src, size_t bytes);   // host -> device
void  dev_download(Dev *d, void *dst, const void *src, size_t bytes); // device -> host
void  dev_memset0(Dev *d, void *p, size_t bytes);
void  dev_sync(Dev *d);                                  // wait for queued work (cuda)

#ifdef __cplusplus
}
#endif
#endif
