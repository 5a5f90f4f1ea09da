/* engine/data/photos.h — a Dataset over one shard of encoded photographs (io/shard.h): decoded
 * into memory up front when its images share one small size, else decoded by the loader per
 * sample (dataset.h's encoded()). photos.c says which and why.
 */
#ifndef PHOTOS_H
#define PHOTOS_H

#include "dataset.h"

// the shard at path as dataset `name` with `classes` classes (0: whatever the shard holds);
// 0, or ERR_IO / ERR_FORMAT with one line; on error *ds is zeroed
int photos_open(Dataset *ds, const char *name, const char *path, int classes);

#endif
