#include "ui/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/paths_config.h"

/* Candidate data folders, most specific first; returns how many were written. */
static int dataDirs(char dirs[][PATH_MAX], int max)
{
    int n = 0;
    const char *env = getenv("FFNSCOPE_DATA_DIR");
    if (env && *env && n < max) snprintf(dirs[n++], PATH_MAX, "%s", env);

    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (n < max) snprintf(dirs[n++], PATH_MAX, "%.4000s/..", exe);
            if (n < max) snprintf(dirs[n++], PATH_MAX, "%.4000s/../share/ffnscope", exe);
        }
    }
    if (n < max) snprintf(dirs[n++], PATH_MAX, "%s", FFNSCOPE_INSTALL_DATADIR);
    if (n < max) snprintf(dirs[n++], PATH_MAX, "%s", FFNSCOPE_SOURCE_ROOT);
    return n;
}

int dataPaths(const char *rel, char **out, int max)
{
    char dirs[5][PATH_MAX];
    char seen[5][PATH_MAX];
    int nd = dataDirs(dirs, 5), n = 0, ns = 0;
    for (int i = 0; i < nd && n < max; i++) {
        char path[PATH_MAX], real[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dirs[i], rel) >= (int)sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0 || !realpath(path, real)) continue;
        int dup = 0;
        for (int k = 0; k < ns; k++) dup |= !strcmp(seen[k], real);
        if (dup) continue;
        snprintf(seen[ns++], PATH_MAX, "%s", real);
        out[n] = strdup(real);
        if (out[n]) n++;
    }
    return n;
}

int dataPath(const char *rel, char *out, size_t n)
{
    char *found[1];
    if (dataPaths(rel, found, 1) < 1) return -1;
    int ok = strlen(found[0]) < n;
    if (ok) strcpy(out, found[0]);
    free(found[0]);
    return ok ? 0 : -1;
}
