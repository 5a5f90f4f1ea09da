/* engine/io/atomic.h — files that are either whole or absent: write PATH.tmp, then rename.
 *
 * Every file the suite writes for others to read (checkpoints, exported weights, logits) goes
 * through here: the data goes to PATH.tmp, is flushed and fsync'ed, and only then renamed over
 * PATH, so a crash or a full disk leaves the previous PATH (or none) and never a half-written one
 * (DESIGN §5, "nothing half-written"). On failure the .tmp file is removed.
 */
#ifndef ATOMIC_H
#define ATOMIC_H

#include <stdio.h> // FILE

#include "../core/core.h"

typedef struct {
    FILE       *f;          // open on tmp between atomic_open and atomic_close
    char        path[1024]; // the final name
    char        tmp[1040];  // PATH.tmp
    const char *what;       // "safetensors file", "npy file": the messages' first word
} AtomicFile;

// creates PATH.tmp for writing; 0, or ERR_IO with one line naming the file
int atomic_open(AtomicFile *a, const char *path, const char *what);
// ok (every write succeeded): flushes, fsyncs, closes and renames PATH.tmp to PATH; otherwise,
// or when any of that fails, closes and removes PATH.tmp. 0, or ERR_IO with one line naming it
int atomic_close(AtomicFile *a, bool ok);

#endif
