/* tests/fixtures.h — the reference fixtures written by tests/ref/gen_*_fixtures.py.
 *
 * Format "OPFX": u32 version 1, u32 count, then per tensor: u32 name length, name, u32 ndim,
 * u32 dims[ndim], float32 data (little endian). Names are "<case>/<tensor>".
 */
#ifndef FIXTURES_H
#define FIXTURES_H

#include <sys/types.h> // pid_t

#include "backend/ops.h" // dev_open
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

// ---- values drawn on both sides (tests/ref/gen_model_fixtures.py: generated(), gsig()) --------
// Larger models' weights and inputs are never stored: the generators and the tests draw the same
// floats from Philox (rng.h, tests/ref/philox.py), keyed by name through fnv1a

enum { FIX_WEIGHT_KEY = 0x5EED0A01, FIX_SIG_KEY = 0x5EED0A02 };

uint64_t fixture_fnv1a(const char *s);   // 64-bit FNV-1a of the bytes: a stream number per name
// generated(): the value of every element of parameter `pi` (numel floats into w): conv and linear
// U(+-sqrt(3/fan_in)), BN gamma and running var 0.5 + U(0,1), running mean U(+-0.2), other vectors
// U(+-0.3); one rounding to float of an exact-or-once-rounded double, as numpy computes it
void     fixture_param(const ParamInfo *pi, float *w);
// x[j] = 2 rng_uniform(key, stream, j) - 1 for j < n: inputs and loss weights, uniform in [-1, 1)
void     fixture_uniform(uint64_t key, uint64_t stream, size_t n, float *x);
// gsig(): a gradient's signature, |g| and <g, r_k> for k < 4 with r_k[j] = 2 rng_uniform(SIG_KEY,
// k, j) - 1, over the n values of g (our layout, flattened)
void     fixture_signature(const float *g, size_t n, float sig[5]);

// ---- checkpoints --------------------------------------------------------------------------------
// do two checkpoints (safetensors) hold bitwise the same tensors under the same names, the epoch
// log "log.epochs" aside (its timings differ)? Names each differing tensor on stderr; an unreadable
// file is a difference too
bool fixture_same_checkpoint(const char *a, const char *b);
// a checkpoint's metadata value `key` as a number (-1 when absent; the test fails when unreadable)
long fixture_ckpt_meta(const char *path, const char *key);

// a run to kill, in a child process forked BEFORE the test runs any OpenMP region: GNU libgomp's
// thread pool does not survive fork(), so a child forked after a parallel region hangs in its
// first one (it would never write a checkpoint, and a "resumed" run would start from scratch).
// fixture_fork_held returns 0 in the child once the parent calls fixture_release(go) (the child
// exits quietly if the parent closes go without releasing it), and the child's pid in the parent.
pid_t fixture_fork_held(int *go);
void  fixture_release(int go);
// waits until `path` exists (the child's first checkpoint) or the child ends or timeout_s pass,
// then delay_s + frac * (the time that wait took: about an epoch of the child at its own speed,
// whatever else loads the machine) more, kills the child with SIGKILL and reaps it; returns its
// wait status
int   fixture_kill_after(pid_t pid, const char *path, double delay_s, double frac, double timeout_s);
double fixture_now(void); // monotonic seconds

#endif
