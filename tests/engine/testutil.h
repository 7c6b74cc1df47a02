/* Helpers shared by the engine tests: scratch folders under $TMPDIR. */
#ifndef FFNSCOPE_TESTS_ENGINE_TESTUTIL_H
#define FFNSCOPE_TESTS_ENGINE_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh folder and writes its path into buf. */
int testTempDir(char *buf, size_t len);
/* rm -r */
void testRemoveTree(const char *path);
/* Number of entries in a folder (not counting . and ..), -1 when it does not exist. */
int testCountEntries(const char *path);
/* Writes a float32 .npy file [rows, cols] from row-major data. */
int testWriteNpyF32(const char *path, const float *data, int rows, int cols);

/* Writes a safetensors file of n float32 tensors [rows, cols], named names[i],
 * data[i] row-major. */
int testWriteSafetensorsF32(const char *path, int n, const char *const *names, const float *const *data, int rows,
                            int cols);

#endif
