/* tests/test_core.c — engine/core: Philox known answers, draws as pure functions, the parameter
 * table's layout and roles, the arena's plan/commit/re-plan cycle, and the error tier's aborts.
 * Criterion runs every test in its own process, so the death tests are ordinary tests.
 */
#include <criterion/criterion.h>
#include <math.h>   // fabs
#include <signal.h> // SIGABRT

#include "core/arena.h"
#include "backend/ops.h" // dev_open
#include "core/params.h"
#include "core/rng.h"

// ---------------------------------------------------------------------------------------------
// Philox-4x32-10: the known-answer vectors published with Random123 (kat_vectors)

static void kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                const uint32_t want[4])
{
    Philox4 c = {{c0, c1, c2, c3}};
    Philox4 r = philox4x32(c, (uint64_t)k1 << 32 | k0);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(r.v[i], want[i], "word %d: got %08x want %08x", i, r.v[i], want[i]);
}

Test(rng, philox_known_answers)
{
    kat(0, 0, 0, 0, 0, 0, (const uint32_t[]){0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    kat(~0u, ~0u, ~0u, ~0u, ~0u, ~0u,
        (const uint32_t[]){0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
        (const uint32_t[]){0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

Test(rng, draws_are_pure_and_uniform)
{
    uint64_t key = rng_key(42, 7);
    double sum = 0, sq = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform(key, 3, (uint64_t)i);
        cr_assert(u >= 0.0f && u < 1.0f, "draw %d = %g outside [0,1)", i, u);
        sum += u;
        sq += (double)u * u;
    }
    // any order, any number of times: the same value
    cr_expect_eq(rng_uniform(key, 3, 12345), rng_uniform(key, 3, 12345));
    double mean = sum / n, var = sq / n - mean * mean;
    cr_expect(fabs(mean - 0.5) < 0.005, "mean %g", mean);
    cr_expect(fabs(var - 1.0 / 12) < 0.002, "variance %g", var);
}

Test(rng, streams_differ)
{
    uint64_t a = rng_key(1, 0), b = rng_key(1, 1), c = rng_key(2, 0);
    cr_expect_neq(a, b);
    cr_expect_neq(a, c);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += rng_uniform(a, 0, (uint64_t)i) == rng_uniform(b, 0, (uint64_t)i);
    cr_expect_lt(same, 5, "%d of 1000 draws equal across purposes", same);
    cr_expect_neq(rng_uniform(a, 0, 0), rng_uniform(a, 1, 0), "counter high word ignored");
}

// ---------------------------------------------------------------------------------------------
// parameter table

static Dev ref_dev(void)
{
    Dev d;
    cr_assert_eq(dev_open(&d, "ref"), 0);
    return d;
}

Test(params, layout_roles_and_flags)
{
    Dev d = ref_dev();
    Params p = {0};
    int w = params_add(&p, "conv1.w", 4, (const int[]){16, 3, 3, 3}, true);
    int g = params_add(&p, "bn1.gamma", 1, (const int[]){16}, false);
    int rm = params_add_buffer(&p, "bn1.running_mean", 1, (const int[]){16});
    int fc = params_add(&p, "fc.w", 2, (const int[]){10, 33}, true);
    cr_expect_eq(params_find(&p, "fc.w"), fc);
    cr_expect_eq(params_find(&p, "nope"), -1);
    for (int i = 0; i < p.count; i++) cr_expect_eq(p.info[i].offset % PARAMS_ALIGN, 0);
    cr_expect_eq(p.info[w].numel, 432u);
    cr_expect_eq(p.info[g].offset, 448u); // 432 rounded up to 14 * 32
    cr_expect(p.info[w].decay && !p.info[g].decay && p.info[rm].buffer);
    cr_expect_eq(params_count(&p, false), 432u + 16 + 16 + 330);
    cr_expect_eq(params_count(&p, true), 432u + 16 + 330);
    cr_assert_eq(params_alloc(&p, &d, 2, true), 0);
    for (int r = ROLE_W; r < ROLE_SLOT0 + 2; r++) {
        float *a = params_at(&p, (ParamRole)r, fc);
        cr_expect_eq(((uintptr_t)a) % 128, 0, "role %d not 128-byte aligned", r);
        cr_expect_eq(a - p.buf[r], (ptrdiff_t)p.info[fc].offset);
    }
    params_at(&p, ROLE_GRAD, w)[5] = 3.0f;
    params_zero(&p, ROLE_GRAD);
    cr_expect_eq(params_at(&p, ROLE_GRAD, w)[5], 0.0f);
    params_free(&p);
}

Test(params, duplicate_name_aborts, .signal = SIGABRT)
{
    Params p = {0};
    params_add(&p, "a.w", 1, (const int[]){4}, true);
    params_add(&p, "a.w", 1, (const int[]){4}, true);
}

Test(params, add_after_alloc_aborts, .signal = SIGABRT)
{
    Dev d = ref_dev();
    Params p = {0};
    params_add(&p, "a.w", 1, (const int[]){4}, true);
    params_alloc(&p, &d, 0, false);
    params_add(&p, "b.w", 1, (const int[]){4}, true);
}

Test(params, missing_role_aborts, .signal = SIGABRT)
{
    Dev d = ref_dev();
    Params p = {0};
    params_add(&p, "a.w", 1, (const int[]){4}, true);
    params_alloc(&p, &d, 1, false);
    params_at(&p, ROLE_EMA, 0);
}

// ---------------------------------------------------------------------------------------------
// activation arena

Test(arena, plan_commit_replan)
{
    Dev d = ref_dev();
    Arena a;
    arena_init(&a, &d);
    arena_begin(&a);
    ArenaSlot x = arena_reserve(&a, 128 * 28 * 28 * 16), y = arena_reserve(&a, 10);
    arena_commit(&a);
    float *px = arena_at(&a, x), *py = arena_at(&a, y);
    cr_expect_eq((py - a.base) % 32, 0);
    cr_expect(py >= px + x.numel || px >= py + y.numel, "slots overlap");
    size_t cap = a.capacity;
    float *base = a.base;
    // a smaller image: same block, new handles
    arena_begin(&a);
    ArenaSlot x2 = arena_reserve(&a, 128 * 14 * 14 * 16);
    arena_commit(&a);
    cr_expect_eq(a.base, base);
    cr_expect_eq(a.capacity, cap);
    cr_expect_eq(arena_at(&a, x2), base);
    // a larger one: the block grows
    arena_begin(&a);
    ArenaSlot x3 = arena_reserve(&a, 128 * 56 * 56 * 16);
    arena_commit(&a);
    cr_expect_geq(a.capacity, x3.numel);
    cr_expect_eq(a.n_plans, 3);
    arena_free(&a);
}

// slots alive at the same step never overlap; slots never alive together may share memory
Test(arena, lifetimes_pack_without_overlap)
{
    Dev d = ref_dev();
    Arena a;
    arena_init(&a, &d);
    // a chain: slot i alive over [i, i+1], each the same size: two slots' worth suffice
    arena_begin(&a);
    for (int i = 0; i < 10; i++) arena_reserve_live(&a, 1000, i, i + 1);
    arena_commit(&a);
    cr_expect_eq(a.planned, 2 * 1024, "chain of 10 packed into %zu floats", a.planned);
    cr_expect_eq(a.reserved, 10 * 1024);
    // random lifetimes and sizes, checked pairwise
    uint64_t key = rng_key(7, 1);
    for (int trial = 0; trial < 50; trial++) {
        enum { N = 60 };
        ArenaSlot s[N];
        int first[N], last[N];
        arena_begin(&a);
        for (int i = 0; i < N; i++) {
            first[i] = (int)(rng_uniform(key, trial, 4 * i) * 40);
            last[i] = first[i] + (int)(rng_uniform(key, trial, 4 * i + 1) * 20);
            size_t numel = 1 + (size_t)(rng_uniform(key, trial, 4 * i + 2) * 5000);
            s[i] = i % 7 == 0 ? arena_reserve(&a, numel) : arena_reserve_live(&a, numel, first[i], last[i]);
            if (i % 7 == 0) first[i] = -1, last[i] = ARENA_FOREVER;
        }
        arena_commit(&a);
        cr_assert_leq(a.planned, a.reserved);
        for (int i = 0; i < N; i++) {
            float *pi = arena_at(&a, s[i]);
            cr_assert_eq((pi - a.base) % 32, 0);
            cr_assert_leq(pi + s[i].numel, a.base + a.capacity);
            for (int j = 0; j < i; j++) {
                if (first[i] > last[j] || first[j] > last[i]) continue;
                float *pj = arena_at(&a, s[j]);
                cr_assert(pi >= pj + s[j].numel || pj >= pi + s[i].numel,
                          "trial %d: slots %d and %d are alive together and overlap", trial, i, j);
            }
        }
    }
    arena_free(&a);
}

Test(arena, stale_handle_aborts, .signal = SIGABRT)
{
    Dev d = ref_dev();
    Arena a;
    arena_init(&a, &d);
    arena_begin(&a);
    ArenaSlot x = arena_reserve(&a, 100);
    arena_commit(&a);
    arena_begin(&a);
    arena_reserve(&a, 50);
    arena_commit(&a);
    arena_at(&a, x);
}

Test(arena, reserve_without_plan_aborts, .signal = SIGABRT)
{
    Dev d = ref_dev();
    Arena a;
    arena_init(&a, &d);
    arena_reserve(&a, 10);
}

Test(dev, unknown_backend_is_an_error)
{
    Dev d;
    cr_expect_eq(dev_open(&d, "tpu"), ERR_ARG);
    cr_expect(dev_available("ref"));
    cr_expect(!dev_available("tpu"));
}
