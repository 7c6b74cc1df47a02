#ifndef FFNSCOPE_FUZZUTIL_H
#define FFNSCOPE_FUZZUTIL_H
/* Shared by the fuzz harnesses: the readers take paths, so each input is
 * written to a private temp file (one per process, rewritten in place). */
#include <stddef.h>
#include <stdint.h>

/* Writes data to this process's temp file with the given suffix (".npy",
 * "/config.json", ...) and returns its path, or NULL. A suffix with a slash
 * puts the file inside a private folder under that name. */
const char *fuzzWriteFile(const char *suffix, const uint8_t *data, size_t size);

/* Writes an extra file beside the last one (same folder); 0 or -1. */
int fuzzWriteSibling(const char *name, const uint8_t *data, size_t size);

/* The folder holding the files written above. */
const char *fuzzDir(void);

/* Loads the checkpoint at path with the format forced, then runs one tiny
 * forward pass with capture at every layer, so shapes the loader accepted are
 * also safe to run. Errors are the expected outcome for most inputs. */
void fuzzModel(const char *path, const char *format);

/* Loads the tokenizer at path (a file or a folder), encodes text (NULL: one
 * that touches every pre-tokenizer branch) and looks every id up again. */
void fuzzTokenizer(const char *path, const char *text);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif
