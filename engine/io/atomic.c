/* engine/io/atomic.c — whole-or-absent file writes (atomic.h). */
#include "atomic.h"

#include <errno.h>  // errno
#include <string.h> // strerror
#include <unistd.h> // fsync, unlink

int atomic_open(AtomicFile *a, const char *path, const char *what)
{
    memset(a, 0, sizeof *a);
    a->what = what;
    if (strlen(path) >= sizeof a->path) {
        log_error("%s %s: path longer than %zu characters", what, path, sizeof a->path - 1);
        return ERR_IO;
    }
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path);
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        log_error("%s %s: cannot create %s (%s)", what, path, a->tmp, strerror(errno));
        return ERR_IO;
    }
    return 0;
}

int atomic_close(AtomicFile *a, bool ok)
{
    CHECK(a->f, "atomic_close %s: not open", a->path);
    int err = ok ? 0 : errno;
    if (ok && (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)) { ok = false; err = errno; }
    if (fclose(a->f) != 0 && ok) { ok = false; err = errno; }
    a->f = NULL;
    if (!ok) {
        log_error("%s %s: writing %s failed (%s); %s is left as it was", a->what, a->path, a->tmp,
                  err ? strerror(err) : "short write", a->path);
    } else if (rename(a->tmp, a->path) != 0) {
        log_error("%s %s: cannot rename %s over it (%s)", a->what, a->path, a->tmp, strerror(errno));
        ok = false;
    }
    if (!ok) unlink(a->tmp);
    return ok ? 0 : ERR_IO;
}
