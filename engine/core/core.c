/* engine/core/core.c — the error tiers and shape helpers of core.h. */
#include "core.h"

#include <stdarg.h> // va_list
#include <stdio.h>  // fprintf, vfprintf, snprintf
#include <stdlib.h> // abort, malloc, calloc
#include <string.h> // strlen
#include <time.h>   // clock_gettime

_Noreturn void die_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n       (%s:%d: CHECK(%s) failed)\n", file, line, cond);
    fflush(stderr);
    abort();
}

// log_capture's buffer of this thread, or NULL
static _Thread_local char *capture;
static _Thread_local size_t capture_cap;

void log_capture(char *buf, size_t cap)
{
    capture = cap ? buf : NULL;
    capture_cap = cap;
    if (capture) capture[0] = 0;
}

void log_error(const char *fmt, ...)
{
    // the whole line formatted first and written with one call: threads' lines never interleave
    char line[2048];
    int k = snprintf(line, sizeof line, "error: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len] = '\n', line[len + 1] = 0;
    if (capture) {
        size_t at = strlen(capture);
        if (at + 1 < capture_cap) snprintf(capture + at, capture_cap - at, "%s", line);
        return;
    }
    fflush(stdout);
    fputs(line, stderr);
}

const char *err_name(int err)
{
    switch (err) {
    case ERR_OK: return "ok";
    case ERR_IO: return "i/o error";
    case ERR_NOMEM: return "out of memory";
    case ERR_FORMAT: return "malformed input";
    case ERR_DEVICE: return "device error";
    case ERR_ARG: return "invalid argument";
    default: return "unknown error";
    }
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    CHECK(p, "out of host memory allocating %zu bytes", bytes);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    CHECK(p, "out of host memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    CHECK(q, "out of host memory growing a buffer to %zu bytes", bytes);
    return q;
}

const char *shape_str(Shape4 s, char buf[64])
{
    snprintf(buf, 64, "(%d,%d,%d,%d)", s.n, s.h, s.w, s.c);
    return buf;
}

const char *dims_str(int ndim, const int64_t *dims, char buf[128])
{
    int k = snprintf(buf, 128, "(");
    for (int i = 0; i < ndim && k < 100; i++)
        k += snprintf(buf + k, (size_t)(128 - k), "%s%lld", i ? ", " : "", (long long)dims[i]);
    snprintf(buf + k, (size_t)(128 - k), ndim == 1 ? ",)" : ")");
    return buf;
}

double time_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
