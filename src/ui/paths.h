#ifndef FFNSCOPE_UI_PATHS_H
#define FFNSCOPE_UI_PATHS_H

#include <stddef.h>

/* Bundled data (themes/, configs/) is looked up in this order:
 * $FFNSCOPE_DATA_DIR, the folder above the executable (a build folder inside
 * the source tree, or PREFIX/bin), PREFIX/share/ffnscope next to the
 * executable, the installed data folder and the source tree meson was
 * configured from. */

/* Writes the first existing DATA_DIR/rel into out; returns 0, or -1 when
 * none exists (or it does not fit in n bytes). */
int dataPath(const char *rel, char *out, size_t n);

/* All existing DATA_DIR/rel in lookup order, de-duplicated by real path.
 * Returns the count; each string is malloc'd. */
int dataPaths(const char *rel, char **out, int max);

#endif
