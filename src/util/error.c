#include "ffnscope/error.h"

#include <stdarg.h>
#include <stdio.h>

int errorSet(Error *err, int code, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return -1;
}

int errorNoMem(Error *err, const char *what)
{
    return errorSet(err, EXIT_RUNTIME, "%s: out of memory", what);
}
