#ifndef FFNSCOPE_UTIL_CSV_H
#define FFNSCOPE_UTIL_CSV_H

#include <stdio.h>

/* One CSV field (RFC 4180): quoted, with quotes doubled, only when it holds a
 * comma, a quote or a line break. NULL writes an empty field. */
void csvField(FILE *fp, const char *s);

#endif
