/* tests/fixtures.h — the reference fixtures written by tests/ref/gen_*_fixtures.py.
 *
 * Format "OPFX": u32 version 1, u32 count, then per tensor: u32 name length, name, u32 ndim,
 * u32 dims[ndim], float32 data (little endian). Names are "<case>/<tensor>".
 */
#ifndef FIXTURES_H
#define FIXTURES_H

#include "core/params.h"

typedef struct { char name[160]; size_t n; float *data; } FixTensor;
typedef struct { int count; FixTensor *t; } Fixtures;

int  fixtures_load(Fixtures *fx, const char *path);   // 0, or ERR_IO / ERR_FORMAT with a message
void fixtures_free(Fixtures *fx);
// the tensor "<prefix>/<name>", or NULL
const FixTensor *fixture_find(const Fixtures *fx, const char *prefix, const char *name);

// max |got - want| / max |want| over n values (max |got - want| when want is all zero): the error
// measure of every comparison with a reference in the tests
double max_rel_err(const float *got, const float *want, size_t n);

// ---- weights drawn on both sides: tests/ref/gen_model_fixtures.py's generated(), gsig() and
// fnv1a, mirrored (models whose weights would make fixtures of megabytes store none)
enum { FIXTURE_WEIGHT_KEY = 0x5EED0A01, FIXTURE_SIG_KEY = 0x5EED0A02 };

// the generator's values of parameter `pi` (our layout) into w (pi->numel), from the stream
// fnv1a(name): conv and linear weights U(+-sqrt(3/fan_in)), running means U(+-0.2), running
// variances and BN gammas 0.5 + U(0,1), other vectors U(+-0.3); one rounding to float of an
// exact (or once rounded) double, the same operations as numpy's, so both sides hold the same
// floats
void fixture_generate_param(const ParamInfo *pi, float *w);
// a gradient's signature sig (5): |g| and <g, r_k> with r_k[j] = 2 rng_uniform(SIG_KEY, k, j) - 1
void fixture_gradient_signature(const float *g, size_t n, float sig[5]);

#endif
