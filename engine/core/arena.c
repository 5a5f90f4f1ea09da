/* engine/core/arena.c — the activation arena of arena.h. */
#include "arena.h"

#include <string.h> // memset

void arena_init(Arena *a, Dev *d)
{
    memset(a, 0, sizeof *a);
    a->dev = d;
}

void arena_begin(Arena *a)
{
    a->planned = 0;
    a->open = true;
}

ArenaSlot arena_reserve(Arena *a, size_t numel)
{
    CHECK(a->open, "arena_reserve(%zu): no plan open; call arena_begin first", numel);
    ArenaSlot s = {a->planned, numel, a->n_plans + 1};
    a->planned += (numel + 31) / 32 * 32;
    return s;
}

void arena_commit(Arena *a)
{
    CHECK(a->open, "arena_commit: no plan open");
    a->open = false;
    a->n_plans++;
    if (a->planned <= a->capacity && a->base) return;
    if (a->base) dev_free(a->dev, a->base);
    a->capacity = a->planned ? a->planned : 32;
    a->base = dev_alloc(a->dev, a->capacity * sizeof(float));
}

float *arena_at(const Arena *a, ArenaSlot s)
{
    CHECK(!a->open && a->base, "arena_at: the plan is not committed");
    CHECK(s.plan == a->n_plans, "arena_at: slot [%zu, +%zu) belongs to plan %d, the arena is on "
          "plan %d: re-plan the model after a size change", s.offset, s.numel, s.plan, a->n_plans);
    return a->base + s.offset;
}

void arena_free(Arena *a)
{
    if (a->base) dev_free(a->dev, a->base);
    Dev *d = a->dev;
    arena_init(a, d);
}
