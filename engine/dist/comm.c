/* engine/dist/comm.c — the communicator: a world of one, or MPI over host buffers (comm.h). */
#include "comm.h"

#include <stdio.h>  // snprintf
#include <stdlib.h> // getenv, atoi
#include <string.h> // strcmp

#include "../core/core.h" // log_error, ERR_*, CHECK
#ifdef HAVE_MPI
#include <mpi.h>
#endif

// the environment variables launchers set for each rank: the world's size
static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};

static int env_int(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : 0;
}

int comm_launched(void)
{
    for (size_t i = 0; i < sizeof size_vars / sizeof *size_vars; i++)
        if (env_int(size_vars[i]) > 1) return 1;
    return getenv("PMIX_RANK") != NULL || getenv("PMI_RANK") != NULL;
}

int comm_env_rank(void)
{
    static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof rank_vars / sizeof *rank_vars; i++)
        if (getenv(rank_vars[i])) return env_int(rank_vars[i]);
    return 0;
}

static void single(Comm *c)
{
    *c = (Comm){COMM_SINGLE, 0, 1, 0, 1, "1 process", 0};
}

#ifdef HAVE_MPI
static int mpi_failed(const char *call, int rc)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    log_error("comm: %s failed: %.*s", call, len, msg);
    return ERR_IO;
}
#define MPI_TRY(call) do { int rc_ = (call); if (rc_ != MPI_SUCCESS) return mpi_failed(#call, rc_); } while (0)

// comm_init's MPI part; on failure MPI may be running: the caller ends it
static int mpi_init(Comm *c, int *started)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        MPI_TRY(MPI_Init(NULL, NULL));
        *started = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank, world;
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &world));
    MPI_Comm local;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local));
    int local_rank, local_world;
    MPI_TRY(MPI_Comm_rank(local, &local_rank));
    MPI_TRY(MPI_Comm_size(local, &local_world));
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    version[strcspn(version, ",\n")] = 0; // "Open MPI v4.1.4"
    *c = (Comm){COMM_MPI, rank, world, local_rank, local_world, "", *started};
    snprintf(c->desc, sizeof c->desc, "MPI, rank %d of %d (local %d of %d), %.48s", rank, world, local_rank,
             local_world, version);
    return 0;
}
#endif

int comm_init(Comm *c)
{
    single(c);
    int slurm = env_int("SLURM_STEP_NUM_TASKS"); // srun's step; a batch script's own step has none
    if (!comm_launched()) {
        if (slurm > 1 && getenv("SLURM_PROCID")) {
            log_error("comm: started by srun as one of %d tasks, but without a PMI plugin MPI cannot join them: "
                      "use srun --mpi=pmix (or pmi2), or mpirun", slurm);
            return ERR_ARG;
        }
        return 0;
    }
#ifdef HAVE_MPI
    int started = 0, rc = mpi_init(c, &started);
    if (rc) {
        if (started) MPI_Finalize();
        single(c);
    }
    return rc;
#else
    log_error("comm: started by a launcher as one of several ranks, but this build has no MPI (make deps installs "
              "libopenmpi-dev; then make clean all)");
    return ERR_ARG;
#endif
}

void comm_free(Comm *c)
{
#ifdef HAVE_MPI
    if (c->kind == COMM_MPI && c->owns_mpi) {
        int done = 0;
        MPI_Finalized(&done);
        if (!done) MPI_Finalize();
    }
#endif
    single(c);
}

// in-place MPI_SUM over n elements of type t, in pieces of at most 2^30 (MPI counts are ints)
#ifdef HAVE_MPI
static int allreduce_sum(void *buf, size_t n, size_t elem, MPI_Datatype t)
{
    for (size_t done = 0; done < n;) {
        int k = (int)MIN(n - done, (size_t)1 << 30);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * elem, k, t, MPI_SUM, MPI_COMM_WORLD));
        done += (size_t)k;
    }
    return 0;
}
#endif

_Noreturn void comm_abort(Comm *c, int code)
{
    fflush(stdout);
#ifdef HAVE_MPI
    if (c->kind == COMM_MPI) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}

int comm_allreduce_sum(Comm *c, float *buf, size_t n)
{
    if (c->world == 1 || !n) return 0;
#ifdef HAVE_MPI
    return allreduce_sum(buf, n, sizeof *buf, MPI_FLOAT);
#else
    return ERR_ARG;
#endif
}

int comm_allreduce_mean(Comm *c, float *buf, size_t n)
{
    int rc = comm_allreduce_sum(c, buf, n);
    if (rc || c->world == 1) return rc;
    float scale = 1.0f / (float)c->world;
    for (size_t i = 0; i < n; i++) buf[i] *= scale;
    return 0;
}

int comm_allreduce_sum_f64(Comm *c, double *buf, size_t n)
{
    if (c->world == 1 || !n) return 0;
#ifdef HAVE_MPI
    return allreduce_sum(buf, n, sizeof *buf, MPI_DOUBLE);
#else
    return ERR_ARG;
#endif
}

int comm_broadcast(Comm *c, void *buf, size_t bytes, int root)
{
    CHECK(root >= 0 && root < c->world, "comm_broadcast: root %d of a world of %d", root, c->world);
    if (c->world == 1 || !bytes) return 0;
#ifdef HAVE_MPI
    for (size_t done = 0; done < bytes;) {
        int k = (int)MIN(bytes - done, (size_t)1 << 30);
        MPI_TRY(MPI_Bcast((char *)buf + done, k, MPI_BYTE, root, MPI_COMM_WORLD));
        done += (size_t)k;
    }
    return 0;
#else
    return ERR_ARG;
#endif
}

int comm_barrier(Comm *c)
{
    if (c->world == 1) return 0;
#ifdef HAVE_MPI
    MPI_TRY(MPI_Barrier(MPI_COMM_WORLD));
    return 0;
#else
    return ERR_ARG;
#endif
}
