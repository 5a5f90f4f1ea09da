/* engine/io/shard.h — one file per split of an image-folder data set: the encoded images (JPEG,
 * PNG) back to back, an index and the names, read through mmap.
 *
 * Folders of small files are slow to open one by one and awkward to copy; a shard is one file
 * the page cache keeps and the loader's threads read without a system call per image (FFCV's
 * .beton and WebDataset's tars do the same). Packing follows torchvision's ImageFolder: the
 * classes are the subfolders of DIR in sorted order (class index = position), the samples of a
 * class every file under its folder (recursively) with an image extension (.jpg .jpeg .png .ppm
 * .bmp .pgm .tif .tiff .webp, any case), in os.walk's sorted order; so sample i and its label are
 * ImageFolder's sample i. What ImageFolder would read and this decoder cannot (a BMP, a corrupt
 * or empty file) is an error naming the file, or, with skip_bad, left out and counted; files
 * without an image extension are left out and counted. Every image is decoded once while packing
 * (at its smallest DCT scale, which still reads all of its data), so a truncated file is found
 * then and not in the middle of a training run.
 *
 * Layout (little-endian; offsets from the start of the file):
 *   header   64 bytes: "RSHARD01", u32 version (1), u32 n, u32 classes, u32 0, u64 index_off,
 *            u64 strings_off, u64 strings_len, u64 data_off, u64 file_size
 *   data     the files' bytes, as read
 *   index    n entries of 24 bytes: u64 offset, u32 size, u32 path (offset into strings), u16 label,
 *            u16 h, u16 w, u8 channels in the file (1, 3, 4), u8 format (0 JPEG, 1 PNG)
 *   strings  the class names, then each sample's path relative to DIR, NUL-terminated
 * shard_open checks all of it (every entry inside the data, every label below classes, every
 * string terminated) before anything reads a sample.
 */
#ifndef SHARD_H
#define SHARD_H

#include "image.h" // ImgInfo

typedef struct {
    uint64_t offset;
    uint32_t size, path;
    uint16_t label, h, w;
    uint8_t  c, format;
} ShardEntry;

typedef struct {
    char        path[1024];
    int         n, classes;
    const uint8_t    *map;   // the whole file, read-only
    size_t            size;
    const ShardEntry *index; // (n), in the map
    const char      **class_names; // (classes), into the map
    const char       *strings;
} Shard;

// maps and checks `path`; 0, or ERR_IO / ERR_FORMAT with one line naming the file and what is wrong
// (the entry, the offset, what would be valid); on error *s owns nothing
int  shard_open(Shard *s, const char *path);
void shard_close(Shard *s); // unmaps and zeroes *s; a zeroed Shard is fine
// sample i's bytes, size, header and path (relative to the packed folder)
static inline const uint8_t *shard_bytes(const Shard *s, int i) { return s->map + s->index[i].offset; }
static inline const char *shard_name(const Shard *s, int i) { return s->strings + s->index[i].path; }
static inline ImgInfo shard_info(const Shard *s, int i)
{
    const ShardEntry *e = &s->index[i];
    return (ImgInfo){(ImgFormat)e->format, e->h, e->w, e->c};
}

// the files under dir with an image extension (recursively, os.walk's sorted order), as paths
// relative to dir: *paths (*n of them, free with shard_list_free). 0, or ERR_IO / ERR_ARG with one line
int  shard_list_images(const char *dir, char ***paths, int *n);
void shard_list_free(char **paths, int n);

typedef struct {
    bool skip_bad;   // leave out (and count) files that do not decode, instead of failing
    bool quiet;      // no progress lines
} ShardPackArgs;

typedef struct { int images, classes, skipped_bad, not_images; uint64_t bytes; } ShardPackStats;

// packs the ImageFolder tree `dir` into `out` (written whole or not at all, io/atomic.h), with a
// progress line on stderr. 0, or ERR_IO / ERR_FORMAT / ERR_ARG with one line naming the file or
// folder (a folder without class subfolders, a class without images, a file that does not decode)
int  shard_pack(const char *dir, const char *out, const ShardPackArgs *a, ShardPackStats *st);

#endif
