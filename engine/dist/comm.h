/* engine/dist/comm.h — the processes of one run, and what they exchange: data-parallel training's
 * communicator (llm.c's design: MPI starts the ranks and hands out what they share; PyTorch DDP's
 * semantics: every rank steps the same weights with the average of all ranks' gradients).
 *
 * comm_init reads how the program was started:
 *   mpirun / mpiexec (Open MPI: OMPI_COMM_WORLD_SIZE; MPICH and srun --mpi=pmi2/pmix: PMI_SIZE,
 *   PMIX_RANK) -> MPI over host buffers (COMM_MPI), when this build has MPI;
 *   nothing of that -> a world of one (COMM_SINGLE): no MPI is initialized or needed, every call
 *   below returns at once, so a program started plainly runs exactly as it did.
 * `srun` without a PMI plugin sets SLURM_STEP_NUM_TASKS > 1 but gives MPI nothing to join: that is an error
 * saying to use `srun --mpi=pmix` (or mpirun), never N independent runs that each think they are
 * alone. A launched program in a build without MPI is the same error.
 * The collectives take host memory (float32 sums for the average, in the library's order; every
 * rank gets the same bits, which keeps their weights identical: tests/test_dist.sh checks it;
 * float64 sums for statistics and counts). Device buffers (NCCL, or host copies for ranks sharing
 * one GPU) are the cuda backend's part of this interface, added with GPU-resident training.
 * Errors: MPI's error handler is MPI_ERRORS_RETURN; a failed call is one line naming the call and
 * MPI's message, and the caller stops (a rank that stops makes mpirun end the others).
 */
#ifndef COMM_H
#define COMM_H

#include <stddef.h> // size_t

typedef enum { COMM_SINGLE, COMM_MPI } CommKind;

typedef struct {
    CommKind kind;
    int      rank, world;             // 0 <= rank < world
    int      local_rank, local_world; // among the ranks of this host (which GPU a rank takes)
    char     desc[128];               // "1 process", "MPI, rank 1 of 4 (local 1 of 2), Open MPI v4.1.4"
    int      owns_mpi;                // comm_init started MPI (comm_free ends it)
} Comm;

// the world this process belongs to (see above); 0, or ERR_* with one line (then c is a world of one)
int  comm_init(Comm *c);
// MPI_Finalize when comm_init started MPI (once, after every rank is done with the others)
void comm_free(Comm *c);
// a rank that fails alone (a file only it cannot read, a device error) would leave the others
// waiting in a collective, and MPI_Finalize waits for them: this ends every rank of the job
// (MPI_Abort with `code`; mpirun reports it). A world of one: exit(code)
_Noreturn void comm_abort(Comm *c, int code);
// buf[0..n) = the mean over the ranks of every rank's buf (float32 sum, then times 1/world)
int  comm_allreduce_mean(Comm *c, float *buf, size_t n);
// buf[0..n) = the sum over the ranks of every rank's buf (float32: gradients that each rank has
// already divided by the global batch)
int  comm_allreduce_sum(Comm *c, float *buf, size_t n);
// buf[0..n) = the sum over the ranks (float64: losses, hit counts, batch-norm statistics)
int  comm_allreduce_sum_f64(Comm *c, double *buf, size_t n);
// root's bytes into every rank's buf
int  comm_broadcast(Comm *c, void *buf, size_t bytes, int root);
int  comm_barrier(Comm *c);
// whether this process was started by a launcher of several ranks (the environment says so)
int  comm_launched(void);
// the rank the launcher's environment gives this process, before (or without) comm_init; 0 when
// none (to keep ranks above 0 quiet from their first line)
int  comm_env_rank(void);

#endif
