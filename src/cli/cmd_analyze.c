/* ffnscope analyze FILE [--tensor NAME] [--format table|json|csv] [--concentration-k K]
 * Spectral metrics of activation matrices stored in .npy / .safetensors files,
 * or of covariance statistics files (io/stats.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/acts.h"
#include "ffnscope/covacc.h"
#include "ffnscope/eigen.h"
#include "ffnscope/metrics.h"
#include "io/stats.h"

typedef enum Format { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV } Format;

/* "PATH: tensor 'x': " or "PATH: " for the single array of a .npy file. */
static void where(char *buf, size_t len, const ActFile *f, const ActTensor *t)
{
    if (t->name[0]) snprintf(buf, len, "%s: tensor '%s'", actFilePath(f), t->name);
    else snprintf(buf, len, "%s", actFilePath(f));
}

/* Streams tensor i through a covariance accumulator in blocks the accumulator
 * likes, then eigenvalues and metrics. Memory: O(D^2) plus one block, never a
 * copy of the whole matrix. */
static int analyzeTensor(ActFile *f, int i, double k_param, Metrics *m, Error *err)
{
    const ActTensor *t = actFileTensor(f, i);
    int d = t->width;
    int64_t block = covaccBatchRows(d);
    int wide = t->dtype == ACT_F64; /* float64 input stays exact */
    char at[600];
    where(at, sizeof at, f, t);
    Covacc *acc = covaccNew(d);
    void *buf = malloc((size_t)block * d * (wide ? sizeof(double) : sizeof(float)));
    if (!acc || !buf) {
        covaccFree(acc);
        free(buf);
        return errorNoMem(err, at);
    }
    for (int64_t r = 0; r < t->rows; r += block) {
        int64_t n = t->rows - r < block ? t->rows - r : block;
        int bad = wide ? actFileReadF64(f, i, r, n, buf, err) || covaccAddF64(acc, buf, (size_t)n, (size_t)d, err)
                       : actFileRead(f, i, r, n, buf, err) || covaccAddF32(acc, buf, (size_t)n, (size_t)d, err);
        if (bad) {
            covaccFree(acc);
            free(buf);
            return -1;
        }
    }
    free(buf);
    int64_t used = acc->count, dropped = acc->nonfinite_rows;
    if (used < 2) {
        covaccFree(acc);
        return errorSet(err, EXIT_INPUT, "%s: %lld finite row%s of %lld (a covariance needs at least 2)", at,
                        (long long)used, used == 1 ? "" : "s", (long long)t->rows);
    }
    double *cov = malloc((size_t)d * d * sizeof *cov);
    double *eig = malloc((size_t)d * sizeof *eig);
    int rc = -1;
    if (!cov || !eig) {
        errorNoMem(err, at);
    } else if (covaccCovariance(acc, cov, err) == 0) {
        covaccFree(acc); /* keep the peak at two D^2 buffers */
        acc = NULL;
        rc = eigenSymmetric(cov, d, eig, err);
    }
    if (rc == 0) metricsCompute(eig, d, used, dropped, k_param, m);
    covaccFree(acc);
    free(cov);
    free(eig);
    return rc;
}

static json_t *jsonNumber(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The printers take the file and one name per row, so activation files and
 * statistics files (analyzeStats) share them. */
static int printJson(const char *path, const char *const *names, const Metrics *ms, int n, Error *err)
{
    json_t *arr = json_array();
    int bad = !arr;
    for (int k = 0; k < n && !bad; k++) {
        const Metrics *m = &ms[k];
        char warn[128];
        json_t *o = json_object();
        bad |= !o || json_array_append_new(arr, o);
        if (bad) break;
        bad |= json_object_set_new(o, "file", json_string(path));
        bad |= json_object_set_new(o, "tensor", json_string(names[k]));
        bad |= json_object_set_new(o, "tokens", json_integer(m->tokens));
        bad |= json_object_set_new(o, "width", json_integer(m->width));
        bad |= json_object_set_new(o, "hard_rank", jsonNumber(m->hard_rank));
        bad |= json_object_set_new(o, "soft_rank", jsonNumber(m->soft_rank));
        bad |= json_object_set_new(o, "hard_util", jsonNumber(m->hard_util));
        bad |= json_object_set_new(o, "soft_util", jsonNumber(m->soft_util));
        bad |= json_object_set_new(o, "concentration", jsonNumber(m->concentration));
        bad |= json_object_set_new(o, "concentration_k", json_integer(m->concentration_k));
        bad |= json_object_set_new(o, "eee", jsonNumber(m->eee));
        bad |= json_object_set_new(o, "sui", jsonNumber(m->sui));
        bad |= json_object_set_new(o, "alpha", jsonNumber(m->alpha));
        bad |= json_object_set_new(o, "warnings", json_string(metricsWarnings(m, warn, sizeof warn)));
    }
    char *text = bad ? NULL : json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(arr);
    if (!text) return errorSet(err, EXIT_RUNTIME, "%s: cannot encode JSON (file name not UTF-8?)", path);
    puts(text);
    free(text);
    return 0;
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void csvField(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csvNumber(double v)
{
    if (isfinite(v)) printf(",%.17g", v);
    else fputs(",", stdout);
}

static void printCsv(const char *path, const char *const *names, const Metrics *ms, int n)
{
    puts("file,tensor,tokens,width,hard_rank,soft_rank,hard_util,soft_util,concentration,concentration_k,eee,sui,"
         "alpha,warnings");
    for (int k = 0; k < n; k++) {
        const Metrics *m = &ms[k];
        char warn[128];
        csvField(path);
        putchar(',');
        csvField(names[k]);
        printf(",%lld,%d", (long long)m->tokens, m->width);
        csvNumber(m->hard_rank);
        csvNumber(m->soft_rank);
        csvNumber(m->hard_util);
        csvNumber(m->soft_util);
        csvNumber(m->concentration);
        printf(",%d", m->concentration_k);
        csvNumber(m->eee);
        csvNumber(m->sui);
        csvNumber(m->alpha);
        putchar(',');
        csvField(metricsWarnings(m, warn, sizeof warn));
        putchar('\n');
    }
}

static void printTable(const char *path, const char *const *names, const Metrics *ms, int n)
{
    int name_w = 6;
    for (int k = 0; k < n; k++) {
        int l = (int)strlen(names[k]);
        if (l > name_w) name_w = l;
    }
    if (name_w > 48) name_w = 48;
    printf("%s\n", path);
    printf("%-*s %9s %6s %9s %9s %6s %6s %6s %6s %6s %6s  %s\n", name_w, "tensor", "tokens", "width", "hard_rank",
           "soft_rank", "HR/D", "SR/D", "C_k", "EEE", "SUI", "alpha", "warnings");
    for (int k = 0; k < n; k++) {
        const Metrics *m = &ms[k];
        char warn[128], ck[16], alpha[16];
        snprintf(ck, sizeof ck, "%.3f", m->concentration);
        if (isfinite(m->alpha)) snprintf(alpha, sizeof alpha, "%.3f", m->alpha);
        else snprintf(alpha, sizeof alpha, "-");
        printf("%-*.*s %9lld %6d %9.2f %9.2f %6.3f %6.3f %6s %6.3f %6.3f %6s  %s\n", name_w, name_w,
               names[k][0] ? names[k] : "-", (long long)m->tokens, m->width, m->hard_rank, m->soft_rank, m->hard_util,
               m->soft_util, ck, m->eee, m->sui, alpha, metricsWarnings(m, warn, sizeof warn));
    }
    int same_k = 1;
    for (int k = 1; k < n; k++) same_k &= ms[k].concentration_k == ms[0].concentration_k;
    if (n && same_k) printf("C_k: energy share of the top k = %d eigenvalues\n", ms[0].concentration_k);
    else if (n) printf("C_k: energy share of the top k eigenvalues, k set per tensor from its width\n");
}

/* Print in the requested format. */
static int printRows(Format format, const char *path, const char *const *names, const Metrics *ms, int n, Error *err)
{
    if (format == FORMAT_JSON) return printJson(path, names, ms, n, err);
    if (format == FORMAT_CSV) printCsv(path, names, ms, n);
    else printTable(path, names, ms, n);
    return 0;
}

/* A covariance statistics file (io/stats.h): one row per layer and site (and
 * expert), named "layers.N.SITE" ("layers.N.SITE.expertE"), metrics from the stored count, mean and scatter.
 * Entries load one at a time, so memory stays at a few D^2 buffers. */
static int analyzeStats(const char *path, const char *tensor, Format format, double k_param, Error *err)
{
    StatsFile *f;
    if (statsOpen(path, &f, err)) return err->code ? err->code : EXIT_INPUT;
    int count = statsCount(f), n = 0;
    char (*names)[80] = calloc((size_t)count, sizeof *names);
    const char **np = calloc((size_t)count, sizeof *np);
    Metrics *ms = calloc((size_t)count, sizeof *ms);
    Covacc *acc = NULL;
    int rc = -1;
    if (!names || !np || !ms) {
        errorNoMem(err, path);
        goto out;
    }
    for (int i = 0; i < count; i++) {
        StatsKey key = statsKey(f, i);
        statsEntryName(key, names[n], sizeof names[n]);
        if (tensor && strcmp(names[n], tensor)) continue;
        if (!acc || acc->dim != key.width) { /* experts have their own width */
            covaccFree(acc);
            if (!(acc = covaccNew(key.width))) {
                errorNoMem(err, path);
                goto out;
            }
        }
        char at[600];
        snprintf(at, sizeof at, "%s: %s", path, names[n]);
        if (statsLoad(f, i, acc, err)) goto out;
        if (key.routed && key.expert != CAPTURE_SHARED && acc->count < 2) {
            /* an expert (almost) no token was routed to: its count and a warning, as ffnscope run shows it */
            metricsEmpty(acc->dim, acc->count, acc->nonfinite_rows, &ms[n]);
        } else if (statsMetrics(acc, at, k_param, &ms[n], NULL, err)) {
            goto out;
        }
        np[n] = names[n];
        n++;
    }
    if (n == 0) {
        errorSet(err, EXIT_INPUT, "%s: no statistics named '%s' (names are layers.N.post, layers.N.pre, layers.N.SITE.expertE)", path, tensor);
        goto out;
    }
    rc = printRows(format, path, np, ms, n, err);
out:
    covaccFree(acc);
    free(names);
    free(np);
    free(ms);
    statsClose(f);
    if (rc) return err->code ? err->code : EXIT_RUNTIME;
    if (fflush(stdout) != 0 || ferror(stdout)) return errorSet(err, EXIT_RUNTIME, "analyze: cannot write the output");
    return EXIT_OK;
}

static int usage(Error *err, const char *what)
{
    errorSet(err, EXIT_INPUT,
                    "analyze: %s (usage: ffnscope analyze FILE [--tensor NAME] [--format table|json|csv] "
                    "[--concentration-k K])",
                    what);
    return EXIT_INPUT;
}

int cmdAnalyze(int argc, char **argv, Error *err)
{
    const char *path = NULL, *tensor = NULL;
    Format format = FORMAT_TABLE;
    double k_param = 0.1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        size_t eq = strcspn(a, "=");
        int is_opt = a[0] == '-' && a[1] == '-';
#define OPT(name) (is_opt && eq == strlen(name) && !strncmp(a, name, eq))
        if (OPT("--tensor") || OPT("--format") || OPT("--concentration-k")) {
            if (a[eq] == '=') v = a + eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else return usage(err, "missing value after option");
        }
        if (OPT("--tensor")) {
            tensor = v;
        } else if (OPT("--format")) {
            if (!strcmp(v, "table")) format = FORMAT_TABLE;
            else if (!strcmp(v, "json")) format = FORMAT_JSON;
            else if (!strcmp(v, "csv")) format = FORMAT_CSV;
            else return usage(err, "--format must be table, json or csv");
        } else if (OPT("--concentration-k")) {
            char *end;
            k_param = strtod(v, &end);
            if (end == v || *end || !(k_param > 0) || !isfinite(k_param))
                return usage(err, "--concentration-k needs a positive number");
        } else if (a[0] == '-' && a[1]) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown option '%.200s'", a);
            return usage(err, msg);
        } else if (!path) {
            path = a;
        } else {
            return usage(err, "one FILE only");
        }
#undef OPT
    }
    if (!path) return usage(err, "missing FILE");
    if (statsDetect(path)) return analyzeStats(path, tensor, format, k_param, err);

    ActFile *f;
    if (actFileOpen(path, &f, err)) return err->code ? err->code : EXIT_INPUT;
    int count = actFileCount(f), n = 0;
    int *idx = malloc((size_t)count * sizeof *idx);
    Metrics *ms = calloc((size_t)count, sizeof *ms);
    const char **names = calloc((size_t)count, sizeof *names);
    if (!idx || !ms || !names) {
        errorNoMem(err, path);
        goto fail;
    }
    for (int i = 0; i < count; i++)
        if (!tensor || !strcmp(actFileTensor(f, i)->name, tensor)) idx[n++] = i;
    if (n == 0) {
        errorSet(err, EXIT_INPUT, "%s: no tensor named '%s'", path, tensor);
        goto fail;
    }
    for (int k = 0; k < n; k++) {
        if (analyzeTensor(f, idx[k], k_param, &ms[k], err)) goto fail;
        names[k] = actFileTensor(f, idx[k])->name;
    }
    if (printRows(format, actFilePath(f), names, ms, n, err)) goto fail;
    free(idx);
    free(ms);
    free(names);
    actFileClose(f);
    if (fflush(stdout) != 0 || ferror(stdout)) return errorSet(err, EXIT_RUNTIME, "analyze: cannot write the output");
    return EXIT_OK;
fail:
    free(idx);
    free(ms);
    free(names);
    actFileClose(f);
    return err->code ? err->code : EXIT_RUNTIME;
}
