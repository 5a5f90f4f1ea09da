/* tests/fixtures.h — the reference fixtures written by tests/ref/gen_*_fixtures.py.
 *
 * Format "OPFX": u32 version 1, u32 count, then per tensor: u32 name length, name, u32 ndim,
 * u32 dims[ndim], float32 data (little endian). Names are "<case>/<tensor>".
 */
#ifndef FIXTURES_H
#define FIXTURES_H

#include "core/core.h"

typedef struct { char name[160]; size_t n; float *data; } FixTensor;
typedef struct { int count; FixTensor *t; } Fixtures;

int  fixtures_load(Fixtures *fx, const char *path);   // 0, or ERR_IO / ERR_FORMAT with a message
void fixtures_free(Fixtures *fx);
// the tensor "<prefix>/<name>", or NULL
const FixTensor *fixture_find(const Fixtures *fx, const char *prefix, const char *name);

// max |got - want| / max |want| over n values (max |got - want| when want is all zero): the error
// measure of every comparison with a reference in the tests
double max_rel_err(const float *got, const float *want, size_t n);

#endif
