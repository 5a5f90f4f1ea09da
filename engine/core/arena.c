/* engine/core/arena.c — the activation arena of arena.h: reservations with lifetimes, packed at
 * commit. Packing is greedy by size (largest first, lowest offset that no slot alive at the same
 * time overlaps): O(slots^2), a few hundred slots per model, once per plan.
 */
#include "arena.h"

#include <stdlib.h> // qsort, qsort_r (GNU: the comparison gets the slot table as context)
#include <string.h> // memset

void arena_init(Arena *a, Dev *d)
{
    memset(a, 0, sizeof *a);
    a->dev = d;
}

void arena_begin(Arena *a)
{
    a->planned = a->reserved = 0;
    a->n_req = a->steps = 0;
    a->open = true;
}

ArenaSlot arena_reserve_live(Arena *a, size_t numel, int first, int last)
{
    CHECK(a->open, "arena_reserve(%zu): no plan open; call arena_begin first", numel);
    CHECK(first <= last, "arena_reserve(%zu): lifetime [%d, %d] ends before it starts", numel, first, last);
    if (a->n_req == a->cap_req) {
        a->cap_req = a->cap_req ? 2 * a->cap_req : 256;
        ArenaReq *grown = realloc(a->req, (size_t)a->cap_req * sizeof *grown);
        CHECK(grown, "arena_reserve: out of host memory");
        a->req = grown;
    }
    size_t padded = (numel + 31) / 32 * 32;
    a->req[a->n_req] = (ArenaReq){padded, 0, first, last};
    a->reserved += padded;
    ArenaSlot s = {a->n_req++, numel, a->n_plans + 1};
    return s;
}

ArenaSlot arena_reserve(Arena *a, size_t numel) { return arena_reserve_live(a, numel, -1, ARENA_FOREVER); }

int arena_steps(Arena *a, int n)
{
    CHECK(a->open && n > 0, "arena_steps(%d): only while planning, at least one step", n);
    CHECK(a->steps <= ARENA_FOREVER - n, "arena_steps: the timeline is full");
    a->steps += n;
    return a->steps - n;
}

static int by_size(const void *x, const void *y, void *req)
{
    const ArenaReq *p = (ArenaReq *)req + *(const int *)x, *q = (ArenaReq *)req + *(const int *)y;
    if (p->numel != q->numel) return p->numel < q->numel ? 1 : -1;
    if (p->first != q->first) return p->first < q->first ? -1 : 1;
    return *(const int *)x - *(const int *)y; // stable: the same plan packs the same way
}

static int by_offset(const void *x, const void *y)
{
    const ArenaReq *p = *(ArenaReq *const *)x, *q = *(ArenaReq *const *)y;
    return p->offset < q->offset ? -1 : p->offset > q->offset;
}

// assigns every slot its offset; returns the floats the plan needs
static size_t pack(Arena *a)
{
    int n = a->n_req;
    int *order = xmalloc((size_t)(n ? n : 1) * sizeof *order);
    const ArenaReq **placed = xmalloc((size_t)(n ? n : 1) * sizeof *placed);
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, by_size, a->req);
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        ArenaReq *r = &a->req[order[k]];
        int m = 0; // the placed slots alive at the same time as r, by offset
        for (int j = 0; j < k; j++) {
            const ArenaReq *q = &a->req[order[j]];
            if (q->first <= r->last && r->first <= q->last) placed[m++] = q;
        }
        qsort(placed, (size_t)m, sizeof *placed, by_offset);
        size_t at = 0; // the lowest gap that fits
        for (int j = 0; j < m && placed[j]->offset < at + r->numel; j++)
            at = MAX(at, placed[j]->offset + placed[j]->numel);
        r->offset = at;
        top = MAX(top, at + r->numel);
    }
    free(order);
    free(placed);
    return top;
}

void arena_commit(Arena *a)
{
    CHECK(a->open, "arena_commit: no plan open");
    a->open = false;
    a->n_plans++;
    a->planned = pack(a);
    if (a->planned <= a->capacity && a->base) return;
    if (a->base) dev_free(a->dev, a->base);
    a->capacity = a->planned ? a->planned : 32;
    a->base = dev_alloc(a->dev, a->capacity * sizeof(float));
}

float *arena_at(const Arena *a, ArenaSlot s)
{
    CHECK(!a->open && a->base, "arena_at: the plan is not committed");
    CHECK(s.plan == a->n_plans, "arena_at: slot %d (%zu floats) belongs to plan %d, the arena is on "
          "plan %d: re-plan the model after a size change", s.id, s.numel, s.plan, a->n_plans);
    CHECK(s.id >= 0 && s.id < a->n_req, "arena_at: slot %d of a plan of %d", s.id, a->n_req);
    return a->base + a->req[s.id].offset;
}

void arena_free(Arena *a)
{
    if (a->base) dev_free(a->dev, a->base);
    free(a->req);
    Dev *d = a->dev;
    arena_init(a, d);
}
