#!/usr/bin/env bash
# tests/test_dist.sh — training across processes: the communicator (bin/test_comm) as a world of
# one started plainly, and as 2 and 3 ranks under mpirun (--oversubscribe: this machine has 2
# cores); a plain start inside an srun allocation without PMI is refused. Skips the mpirun cases
# when the build has no MPI or mpirun is missing.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
ok()   { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }
# Open MPI refuses root unless told; CI runs as root
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
out=$(bin/test_comm 2>&1) && ok "world of one, started plainly" || fail "world of one" "$out"
out=$(env SLURM_STEP_NUM_TASKS=4 SLURM_PROCID=1 bin/test_comm 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q 'srun --mpi=pmix' && ok "srun without PMI: refused ($out)" ||
    fail "srun without PMI is refused" "$out"
# a batch script's own step (SLURM_NTASKS of the allocation, no step of several tasks) runs alone
out=$(env SLURM_NTASKS=4 SLURM_PROCID=0 bin/test_comm 2>&1) && ok "a plain start inside a Slurm allocation" ||
    fail "a plain start inside a Slurm allocation" "$out"
if command -v mpirun >/dev/null && grep -q -- '-DHAVE_MPI' build/.flags 2>/dev/null; then
    for n in 2 3; do
        out=$(TEST_COMM_WORLD=$n timeout 120 mpirun -np $n -x TEST_COMM_WORLD bin/test_comm 2>&1)
        rc=$?
        [ $rc -eq 0 ] && ok "$n ranks under mpirun: $(echo "$out" | grep -c '^ok') checks" ||
            fail "$n ranks under mpirun" "rc $rc: $(echo "$out" | tail -5)"
    done
else
    echo "skip  mpirun cases (no MPI in this build, or no mpirun)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
