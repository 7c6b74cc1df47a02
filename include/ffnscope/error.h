#ifndef FFNSCOPE_ERROR_H
#define FFNSCOPE_ERROR_H

/* The error contract: a function that can fail returns 0 on success and -1 on
 * failure, after filling an Error. Nothing below main() prints or exits.
 * The message names the file first ("PATH: what is wrong"); main() prefixes
 * "ffnscope: error: " and exits with the code. */

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* anything else: out of memory, a model failed at run time */
    EXIT_INPUT = 2,   /* usage, config or input file error */
};

typedef struct Error {
    int code;        /* EXIT_INPUT or EXIT_RUNTIME once set, 0 while clear */
    char msg[1024];
} Error;

/* Fills err (when not NULL) and returns -1, so callers can `return errorSet(...)`. */
int errorSet(Error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errorSet with code EXIT_RUNTIME and "out of memory" for `what`. */
int errorNoMem(Error *err, const char *what);

#endif
