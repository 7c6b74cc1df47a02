#include "util/memsize.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int memParseSize(const char *s, uint64_t *bytes)
{
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (!isdigit((unsigned char)*s) && *s != '.') return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0) || !isfinite(v)) return -1;
    while (*end == ' ') end++;
    double mul = 1;
    if (*end) {
        static const char units[] = "KMGT";
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (!u || !*u) {
            if (strcasecmp(end, "B")) return -1;
        } else {
            for (const char *p = units; p <= u; p++) mul *= 1024;
            end++;
            /* K, KB, KiB are all 1024: one meaning, no guessing which was meant */
            if (*end && strcasecmp(end, "B") && strcasecmp(end, "iB")) return -1;
        }
    }
    double b = floor(v * mul);
    if (!(b >= 1) || b >= 9.2e18) return -1;
    *bytes = (uint64_t)b;
    return 0;
}

void memFormatSize(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else if (v < 10) snprintf(buf, len, "%.2f %s", v, units[u]);
    else if (v < 100) snprintf(buf, len, "%.1f %s", v, units[u]);
    else snprintf(buf, len, "%.0f %s", v, units[u]);
}

/* The value of "Key:  N kB" in a /proc file, in bytes; 0 when absent. */
static uint64_t procField(const char *path, const char *key)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[256];
    size_t kl = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtoull(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    fclose(fp);
    return v;
}

/* A number from a one-line file; 0 for "max", absent or unreadable. */
static uint64_t fileNumber(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[64] = "";
    uint64_t v = 0;
    if (fgets(line, sizeof line, fp) && isdigit((unsigned char)line[0])) v = strtoull(line, NULL, 10);
    fclose(fp);
    return v;
}

/* The memory limit of this process's cgroup: v2's memory.max of its own
 * group (and of the root when mounted there), else v1's
 * memory.limit_in_bytes; 0 when none applies. */
static uint64_t cgroupLimit(void)
{
    uint64_t best = 0;
    FILE *fp = fopen("/proc/self/cgroup", "r");
    char line[1024], path[1200];
    while (fp && fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = 0;
        uint64_t v = 0;
        if (!strncmp(line, "0::", 3)) {
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
            v = fileNumber(path);
        } else if (strstr(line, ":memory:")) {
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", strstr(line, ":memory:") + 8);
            v = fileNumber(path);
            if (!v) v = fileNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        }
        if (v && (!best || v < best)) best = v;
    }
    if (fp) fclose(fp);
    uint64_t root = fileNumber("/sys/fs/cgroup/memory.max");
    if (root && (!best || root < best)) best = root;
    /* v1 reports "no limit" as a huge page-rounded number */
    if (best >= ((uint64_t)1 << 60)) best = 0;
    return best;
}

uint64_t memAvailable(void)
{
    uint64_t avail = procField("/proc/meminfo", "MemAvailable"), cg = cgroupLimit();
    if (cg && (!avail || cg < avail)) avail = cg;
    return avail;
}

uint64_t memDefaultLimit(void) { return memAvailable() / 5 * 4; }

void memResident(uint64_t *now, uint64_t *peak)
{
    if (now) *now = procField("/proc/self/status", "VmRSS");
    if (peak) *peak = procField("/proc/self/status", "VmHWM");
}
