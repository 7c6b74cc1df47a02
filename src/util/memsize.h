#ifndef FFNSCOPE_UTIL_MEMSIZE_H
#define FFNSCOPE_UTIL_MEMSIZE_H

/* Memory sizes: parsing the --memory-limit / capture.memory_limit syntax,
 * the default limit, and the process's own resident memory (README
 * "Memory"). */

#include <stddef.h>
#include <stdint.h>

/* "123", "512K", "320M", "1.5G", "2GiB", "64MiB": bytes, or a number with a
 * K/M/G/T suffix, optionally followed by "iB" or "B"; every suffix is a
 * power of 1024. Returns 0 and sets *bytes, or -1 when s is not a size or
 * the size is 0 or does not fit 63 bits. */
int memParseSize(const char *s, uint64_t *bytes);

/* Writes bytes as "1.50 GiB", "320 MiB", "512 B" (buf of 32 is enough). */
void memFormatSize(uint64_t bytes, char *buf, size_t len);

/* What this process can still be given: MemAvailable from /proc/meminfo, or
 * the cgroup's memory.max when that is lower (v2, or v1's
 * memory.limit_in_bytes). 0 when neither can be read. */
uint64_t memAvailable(void);

/* The default limit: 80% of memAvailable(); 0 when unknown. */
uint64_t memDefaultLimit(void);

/* Resident set size now and its peak (VmRSS, VmHWM of /proc/self/status),
 * in bytes; 0 when unknown. */
void memResident(uint64_t *now, uint64_t *peak);

#endif
