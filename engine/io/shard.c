/* engine/io/shard.c — packing image folders into shards and reading them back (shard.h). */
#include "shard.h"

#include <dirent.h>   // opendir, readdir
#include <errno.h>    // errno
#include <fcntl.h>    // open
#include <stdio.h>    // fprintf, snprintf
#include <string.h>   // memcmp, strcmp, strerror
#include <strings.h>  // strcasecmp
#include <sys/mman.h> // mmap
#include <sys/stat.h> // stat
#include <unistd.h>   // close, isatty

#include "atomic.h" // the shard is written whole or not at all

_Static_assert(sizeof(ShardEntry) == 24, "ShardEntry is the file's 24-byte index entry");

enum { HEADER = 64, VERSION = 1 };
static const char MAGIC[8] = {'R', 'S', 'H', 'A', 'R', 'D', '0', '1'};

typedef struct {
    char     magic[8];
    uint32_t version, n, classes, zero;
    uint64_t index_off, strings_off, strings_len, data_off, file_size;
} Header;
_Static_assert(sizeof(Header) == HEADER, "the shard header is 64 bytes");

// ---------------------------------------------------------------------------------------------
// reading

#define BAD(...) do { log_error(__VA_ARGS__); shard_close(s); return ERR_FORMAT; } while (0)

int shard_open(Shard *s, const char *path)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        log_error("shard %s: cannot open (%s)", path, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        log_error("shard %s: not a regular file", path);
        close(fd);
        return ERR_IO;
    }
    s->size = (size_t)st.st_size;
    if (s->size < HEADER) {
        close(fd);
        log_error("shard %s: %zu bytes, shorter than its 64-byte header (not a shard, or cut short)", path, s->size);
        return ERR_FORMAT;
    }
    void *m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        log_error("shard %s: cannot map its %zu bytes (%s)", path, s->size, strerror(errno));
        s->size = 0;
        return ERR_IO;
    }
    s->map = m;
    Header h;
    memcpy(&h, s->map, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof MAGIC))
        BAD("shard %s: not a shard file (it starts with no \"RSHARD01\"; make one with repro data pack)", path);
    if (h.version != VERSION) BAD("shard %s: version %u; this build reads version %d", path, h.version, VERSION);
    if (h.file_size != s->size)
        BAD("shard %s: the header says %llu bytes, the file has %zu (cut short or appended to)", path,
            (unsigned long long)h.file_size, s->size);
    if (h.n == 0 || h.n > INT32_MAX || h.classes == 0 || h.classes > 65536)
        BAD("shard %s: %u samples of %u classes (expected at least 1 of 1 .. 65536)", path, h.n, h.classes);
    if (h.data_off < HEADER || h.index_off % 8 || h.index_off < h.data_off || h.index_off > s->size ||
        (s->size - h.index_off) / sizeof(ShardEntry) < h.n || h.strings_off != h.index_off + (uint64_t)h.n * 24 ||
        h.strings_len == 0 || h.strings_off + h.strings_len != s->size)
        BAD("shard %s: header offsets data %llu, index %llu, strings %llu + %llu do not tile its %zu bytes", path,
            (unsigned long long)h.data_off, (unsigned long long)h.index_off, (unsigned long long)h.strings_off,
            (unsigned long long)h.strings_len, s->size);
    s->n = (int)h.n;
    s->classes = (int)h.classes;
    s->index = (const ShardEntry *)(s->map + h.index_off);
    s->strings = (const char *)(s->map + h.strings_off);
    if (s->strings[h.strings_len - 1] != 0) BAD("shard %s: its string table does not end with a NUL", path);
    s->class_names = xmalloc((size_t)s->classes * sizeof(char *));
    size_t at = 0;
    for (int k = 0; k < s->classes; k++) {
        if (at >= h.strings_len) BAD("shard %s: %d class names in its string table, the header says %d", path, k, s->classes);
        s->class_names[k] = s->strings + at;
        at += strlen(s->strings + at) + 1;
    }
    for (int i = 0; i < s->n; i++) {
        const ShardEntry *e = &s->index[i];
        if (e->path >= h.strings_len || e->path < at)
            BAD("shard %s: entry %d's path at %u is outside the string table's paths (%zu .. %llu)", path, i, e->path,
                at, (unsigned long long)h.strings_len);
        const char *name = s->strings + e->path;
        if (e->offset < h.data_off || e->offset > h.index_off || e->size == 0 || e->size > h.index_off - e->offset)
            BAD("shard %s: entry %d (%s): bytes %llu + %u outside the data (%llu .. %llu)", path, i, name,
                (unsigned long long)e->offset, e->size, (unsigned long long)h.data_off,
                (unsigned long long)h.index_off);
        if (e->label >= s->classes)
            BAD("shard %s: entry %d (%s): label %u, expected 0 .. %d", path, i, name, e->label, s->classes - 1);
        if (e->h == 0 || e->w == 0 || (double)e->h * e->w > IMG_MAX_PIXELS || (e->c != 1 && e->c != 3 && e->c != 4) ||
            e->format > IMG_PNG)
            BAD("shard %s: entry %d (%s): %ux%u, %u channels, format %u (expected a size of at most %d pixels, 1, 3 "
                "or 4 channels, format 0 JPEG or 1 PNG)", path, i, name, e->h, e->w, e->c, e->format, IMG_MAX_PIXELS);
    }
    return 0; // the kernel's default readahead: a sample's bytes are contiguous
}

void shard_close(Shard *s)
{
    if (s->map) munmap((void *)s->map, s->size);
    free(s->class_names);
    memset(s, 0, sizeof *s);
}

// ---------------------------------------------------------------------------------------------
// packing

typedef struct { char **v; int n, cap; } Names;

static void names_add(Names *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        char **v = xmalloc((size_t)l->cap * sizeof *v);
        if (l->n) memcpy(v, l->v, (size_t)l->n * sizeof *v);
        free(l->v);
        l->v = v;
    }
    size_t len = strlen(s) + 1;
    l->v[l->n] = xmalloc(len);
    memcpy(l->v[l->n++], s, len);
}

static void names_free(Names *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode); // stat follows links, as os.walk(followlinks=True)
}

// "a/b" into out (4096 bytes); ERR_ARG with one line when it does not fit
static int join(char out[4096], const char *a, const char *b)
{
    if (strlen(a) + strlen(b) + 2 > 4096) {
        log_error("pack: the path %s/%s is longer than 4095 characters", a, b);
        return ERR_ARG;
    }
    size_t la = strlen(a), lb = strlen(b);
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return 0;
}

// the entries of folder `dir` (not . or ..), sorted; dirs true: only folders, false: only the rest
static int list_dir(const char *dir, bool dirs, Names *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("pack %s: cannot read the folder (%s)", dir, strerror(errno));
        return ERR_IO;
    }
    struct dirent *e;
    char path[4096];
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!(rc = join(path, dir, e->d_name)) && is_dir(path) == dirs) names_add(out, e->d_name);
    }
    closedir(d);
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return rc;
}

// the files under rel (relative to root), os.walk's sorted order: folders by path, files by name
// within a folder. Appends "rel/name" of each to files
static int walk(const char *root, const char *rel, Names *files, int depth)
{
    if (depth > 32) {
        log_error("pack %s/%s: folders nested more than 32 deep (a link loop?)", root, rel);
        return ERR_ARG;
    }
    char dir[4096], sub[4096];
    Names f = {0}, d = {0};
    int rc = join(dir, root, rel);
    if (!rc) rc = list_dir(dir, false, &f);
    if (!rc) rc = list_dir(dir, true, &d);
    for (int i = 0; !rc && i < f.n; i++)
        if (!(rc = join(sub, rel, f.v[i]))) names_add(files, sub);
    // os.walk yields (root, files) top-down; sorted() over those tuples orders folders by their
    // path as strings, "a/b" < "a/b-x" < "a/b/c" ('-' sorts before '/'): not depth first, so the
    // caller sorts the files so (cmp_walk)
    for (int i = 0; !rc && i < d.n; i++)
        if (!(rc = join(sub, rel, d.v[i]))) rc = walk(root, sub, files, depth + 1);
    names_free(&f);
    names_free(&d);
    return rc;
}

// "dir/file" paths ordered as sorted(os.walk) visits them: by folder path, then by file name
static int cmp_walk(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t la = (size_t)(sa - a), lb = (size_t)(sb - b);
    int c = strncmp(a, b, la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(sa + 1, sb + 1);
}

static bool image_extension(const char *name)
{
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
    const char *dot = strrchr(name, '.');
    if (!dot) return false;
    for (int i = 0; i < LEN(ext); i++)
        if (!strcasecmp(dot, ext[i])) return true;
    return false;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *b = xmalloc(len ? len : 1);
    *n = fread(b, 1, len, f);
    bool ok = *n == len && !ferror(f);
    fclose(f);
    if (!ok) {
        free(b);
        return NULL;
    }
    return b;
}

// the header of a file's bytes, checked by decoding it whole at its smallest scale; 0 or ERR_FORMAT
static int check_image(const uint8_t *b, size_t n, const char *name, ImgInfo *info)
{
    int rc = img_probe(b, n, name, info);
    if (rc) return rc;
    if (info->h > 65535 || info->w > 65535) {
        log_error("%s: %dx%d, larger than a shard's 65535-pixel sides", name, info->h, info->w);
        return ERR_FORMAT;
    }
    int d = img_max_denom(info), sh, sw;
    img_scaled_size(info, d, &sh, &sw);
    size_t cap = (size_t)sh * sw * 3;
    uint8_t *px = xmalloc(cap);
    rc = img_decode(b, n, name, d, (ImgRect){0, 0, sh, sw}, 3, px, cap);
    free(px);
    return rc;
}

int shard_list_images(const char *dir, char ***paths, int *n)
{
    *paths = NULL;
    *n = 0;
    if (!is_dir(dir)) {
        log_error("%s: not a folder", dir);
        return ERR_IO;
    }
    Names all = {0}, files = {0};
    // the folder's own files first (os.walk yields the top folder first), then its sub-folders'
    int rc = walk(dir, ".", &all, 0);
    if (!rc) qsort(all.v, (size_t)all.n, sizeof *all.v, cmp_walk);
    for (int i = 0; !rc && i < all.n; i++)
        if (image_extension(all.v[i])) names_add(&files, all.v[i] + 2); // without "./"
    names_free(&all);
    if (rc) {
        names_free(&files);
        return rc;
    }
    *paths = files.v;
    *n = files.n;
    return 0;
}

void shard_list_free(char **paths, int n)
{
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

static bool put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

int shard_pack(const char *dir, const char *out, const ShardPackArgs *a, ShardPackStats *st)
{
    memset(st, 0, sizeof *st);
    if (!is_dir(dir)) {
        log_error("pack %s: not a folder (expected an ImageFolder tree: DIR/<class>/<image>)", dir);
        return ERR_ARG;
    }
    Names classes = {0}, files = {0};
    int *label = NULL, rc = list_dir(dir, true, &classes);
    if (!rc && classes.n == 0) {
        log_error("pack %s: no class subfolders (expected DIR/<class>/<image>, ImageFolder's layout)", dir);
        rc = ERR_ARG;
    }
    if (!rc && classes.n > 65536) {
        log_error("pack %s: %d class folders; a shard holds up to 65536", dir, classes.n);
        rc = ERR_ARG;
    }
    // every candidate file with its class, in ImageFolder's order
    int cap_label = 0;
    for (int k = 0; !rc && k < classes.n; k++) {
        Names cf = {0};
        rc = walk(dir, classes.v[k], &cf, 0);
        qsort(cf.v, (size_t)cf.n, sizeof *cf.v, cmp_walk);
        int before = files.n;
        for (int i = 0; !rc && i < cf.n; i++) {
            if (!image_extension(cf.v[i])) {
                st->not_images++;
                continue;
            }
            names_add(&files, cf.v[i]);
        }
        if (!rc && files.n == before) {
            log_error("pack %s: class folder '%s' holds no image (.jpg .jpeg .png ... ; ImageFolder refuses it too)",
                      dir, classes.v[k]);
            rc = ERR_ARG;
        }
        if (files.n > cap_label) {
            int *l = xmalloc((size_t)files.cap * sizeof(int));
            if (label) memcpy(l, label, (size_t)before * sizeof(int));
            free(label);
            label = l;
            cap_label = files.cap;
        }
        for (int i = before; i < files.n; i++) label[i] = k;
        names_free(&cf);
    }
    AtomicFile af = {0};
    if (!rc) rc = atomic_open(&af, out, "shard");
    if (rc) {
        names_free(&classes);
        names_free(&files);
        free(label);
        return rc;
    }
    ShardEntry *index = xcalloc((size_t)(files.n ? files.n : 1), sizeof *index);
    int *kept = xmalloc((size_t)(files.n ? files.n : 1) * sizeof(int)); // the files of the entries
    Header h = {{0}, VERSION, 0, (uint32_t)classes.n, 0, 0, 0, 0, HEADER, 0};
    memcpy(h.magic, MAGIC, sizeof MAGIC);
    bool ok = put(af.f, &h, sizeof h);
    uint64_t at = HEADER, strings = 0;
    for (int k = 0; k < classes.n; k++) strings += strlen(classes.v[k]) + 1;
    bool tty = isatty(2) && !a->quiet;
    double t0 = time_now(), last = t0;
    int n = 0, next_report = files.n / 10;
    // files in groups read one by one and checked in parallel, then written in order
    enum { GROUP = 64 };
    for (int g = 0; ok && !rc && g < files.n; g += GROUP) {
        int m = MIN(GROUP, files.n - g);
        uint8_t *buf[GROUP] = {0};
        size_t len[GROUP] = {0};
        int err[GROUP] = {0};
        ImgInfo info[GROUP];
        char path[GROUP][4096], msg[GROUP][600]; // 300 KB of the stack
        for (int j = 0; j < m; j++) {
            msg[j][0] = 0;
            if ((err[j] = join(path[j], dir, files.v[g + j]))) {
                err[j] = ERR_IO;
                continue;
            }
            buf[j] = read_file(path[j], &len[j]);
            if (!buf[j]) {
                log_error("pack: cannot read %s (%s)", path[j], strerror(errno));
                err[j] = ERR_IO;
            }
        }
        // checked in parallel, each file's message kept (log_capture) and told in order below:
        // the file that stops the pack, or each one skipped
#pragma omp parallel for schedule(dynamic, 1)
        for (int j = 0; j < m; j++)
            if (!err[j]) {
                log_capture(msg[j], sizeof msg[j]);
                err[j] = check_image(buf[j], len[j], path[j], &info[j]);
                log_capture(NULL, 0);
            }
        for (int j = 0; j < m && ok && !rc; j++) {
            char *why = msg[j] + (strncmp(msg[j], "error: ", 7) ? 0 : 7);
            why[strcspn(why, "\n")] = 0;
            if (err[j] == ERR_IO) rc = ERR_IO;
            else if (err[j] && !a->skip_bad) {
                log_error("pack %s: %s; remove the file, or pass --skip-bad to leave it out", dir, why);
                rc = ERR_FORMAT;
            } else if (err[j]) {
                st->skipped_bad++;
                if (!a->quiet) fprintf(stderr, "%spack: skipped %s\n", tty ? "\n" : "", why);
            } else {
                index[n] = (ShardEntry){at, (uint32_t)len[j], (uint32_t)strings, (uint16_t)label[g + j],
                                        (uint16_t)info[j].h, (uint16_t)info[j].w, (uint8_t)info[j].c,
                                        (uint8_t)info[j].format};
                if (len[j] > UINT32_MAX || strings > UINT32_MAX) {
                    log_error("pack %s: %s: a file over 4 GiB or a string table over 4 GiB", dir, files.v[g + j]);
                    rc = ERR_ARG;
                    break;
                }
                strings += strlen(files.v[g + j]) + 1;
                ok = put(af.f, buf[j], len[j]);
                at += len[j];
                kept[n++] = g + j;
            }
        }
        for (int j = 0; j < m; j++) free(buf[j]);
        int done = g + m;
        if (!a->quiet && (tty ? time_now() - last > 0.5 || done == files.n : done >= next_report)) {
            fprintf(stderr, "%spack %s: %d/%d files, %.1f MB, %.0f files/s%s", tty ? "\r" : "", dir, done, files.n,
                    (double)at / 1e6, done / MAX(time_now() - t0, 1e-9), tty && done < files.n ? "" : "\n");
            last = time_now();
            while (next_report <= done) next_report += MAX(files.n / 10, 1);
        }
    }
    if (!rc && n == 0) {
        log_error("pack %s: no image decoded (%d skipped)", dir, st->skipped_bad);
        rc = ERR_FORMAT;
    }
    // the index (8-aligned), then the strings
    static const uint8_t zeros[8] = {0};
    uint64_t pad = (8 - at % 8) % 8;
    h.n = (uint32_t)n;
    h.index_off = at + pad;
    h.strings_off = h.index_off + (uint64_t)n * sizeof *index;
    h.strings_len = strings;
    h.file_size = h.strings_off + strings;
    if (!rc && ok) {
        ok = put(af.f, zeros, pad) && put(af.f, index, (size_t)n * sizeof *index);
        for (int k = 0; ok && k < classes.n; k++) ok = put(af.f, classes.v[k], strlen(classes.v[k]) + 1);
        for (int i = 0; ok && i < n; i++) ok = put(af.f, files.v[kept[i]], strlen(files.v[kept[i]]) + 1);
        if (ok) ok = fseek(af.f, 0, SEEK_SET) == 0 && put(af.f, &h, sizeof h);
    }
    st->images = n;
    st->classes = classes.n;
    st->bytes = h.file_size;
    free(index);
    free(kept);
    names_free(&classes);
    names_free(&files);
    free(label);
    if (rc) { // said why already: drop the partial file quietly
        fclose(af.f);
        unlink(af.tmp);
        return rc;
    }
    return atomic_close(&af, ok);
}
