/* Covariance statistics files: round trip, exact merging in any grouping and
 * order (against one accumulator and a two-pass float64 reference), metrics
 * from statistics with a known spectrum, and the malformed-file catalogue. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "ffnscope/covacc.h"
#include "io/safetensors.h"
#include "io/stats.h"

static char tmpdir[] = "/tmp/ffnscope-stats-XXXXXX";

static void setupDir(void) { cr_assert(mkdtemp(tmpdir), "mkdtemp"); }

static void teardownDir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect(system(cmd) == 0);
}

static const char *tmpPath(const char *name)
{
    static char buf[8][256];
    static int slot;
    char *p = buf[slot++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

/* xorshift64*: reproducible data without depending on libc's rand. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Correlated rows with a large common offset, so centring matters. */
static double *randomRows(int n, int d)
{
    double *x = malloc((size_t)n * d * sizeof *x);
    double *mix = malloc((size_t)d * d * sizeof *mix);
    cr_assert(x && mix);
    for (int i = 0; i < d * d; i++) mix[i] = uniform() - 0.5;
    for (int r = 0; r < n; r++) {
        double z[64];
        for (int j = 0; j < d; j++) z[j] = (uniform() - 0.5) * (1.0 + j);
        for (int j = 0; j < d; j++) {
            double v = 1000.0 + 10.0 * j;
            for (int k = 0; k < d; k++) v += mix[j * d + k] * z[k];
            x[(size_t)r * d + j] = v;
        }
    }
    free(mix);
    return x;
}

/* Two-pass float64 reference: mean, then centred scatter. */
static void twoPass(const double *x, int n, int d, double *mean, double *scatter)
{
    for (int j = 0; j < d; j++) {
        long double s = 0;
        for (int r = 0; r < n; r++) s += x[(size_t)r * d + j];
        mean[j] = (double)(s / n);
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            long double s = 0;
            for (int r = 0; r < n; r++)
                s += (long double)(x[(size_t)r * d + a] - mean[a]) * (x[(size_t)r * d + b] - mean[b]);
            scatter[a * d + b] = (double)s;
        }
}

static double maxAbs(const double *v, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

/* Full (symmetric) scatter of an accumulator whose upper triangle is authoritative. */
static double sym(const Covacc *a, int i, int j)
{
    return i <= j ? a->scatter[i * a->dim + j] : a->scatter[j * a->dim + i];
}

static void expectClose(const Covacc *got, int64_t count, const double *mean, const double *scatter, double rel)
{
    int d = got->dim;
    cr_assert_eq(got->count, count, "count %lld, expected %lld", (long long)got->count, (long long)count);
    double ms = maxAbs(mean, d), ss = maxAbs(scatter, d * d);
    for (int j = 0; j < d; j++)
        cr_assert(fabs(got->mean[j] - mean[j]) <= rel * ms, "mean[%d] %.17g vs %.17g", j, got->mean[j], mean[j]);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            cr_assert(fabs(sym(got, i, j) - scatter[i * d + j]) <= rel * ss, "scatter(%d,%d) %.17g vs %.17g", i, j,
                      sym(got, i, j), scatter[i * d + j]);
}

/* Shard boundaries: n_shards contiguous pieces of uneven size (one of a
 * single row when there are 5, to exercise count = 1). */
static void shardBounds(int n, int n_shards, int *bounds)
{
    static const int weights5[5] = {1, 0, 37, 5, 11}; /* relative sizes; 0 stands for one row */
    bounds[0] = 0;
    if (n_shards == 1) {
        bounds[1] = n;
        return;
    }
    if (n_shards == 2) {
        bounds[1] = n / 3;
        bounds[2] = n;
        return;
    }
    int total = 0;
    for (int s = 0; s < 5; s++) total += weights5[s];
    for (int s = 0; s < 5; s++) {
        int size = weights5[s] == 0 ? 1 : (n - 1) * weights5[s] / total;
        bounds[s + 1] = bounds[s] + size;
    }
    bounds[5] = n;
}

static void writeShards(const double *x, int n, int d, int n_shards, char names[][256])
{
    int bounds[6];
    shardBounds(n, n_shards, bounds);
    StatsMeta meta = {.model = "tiny", .family = "gpt2", .width = d, .n_layers = 4};
    for (int s = 0; s < n_shards; s++) {
        /* Two layers and both sites; each gets the same rows, shifted, so entries differ. */
        StatsEntry e[3];
        Error err = {0};
        const int layers[3] = {0, 3, 3};
        const Site sites[3] = {SITE_POST, SITE_POST, SITE_PRE};
        for (int k = 0; k < 3; k++) {
            e[k] = (StatsEntry){layers[k], sites[k], covaccNew(d), 0, 0};
            cr_assert(e[k].acc);
            double *shifted = malloc((size_t)(bounds[s + 1] - bounds[s]) * d * sizeof *shifted + 8);
            for (int r = bounds[s]; r < bounds[s + 1]; r++)
                for (int j = 0; j < d; j++) shifted[(size_t)(r - bounds[s]) * d + j] = x[(size_t)r * d + j] + k;
            cr_assert_eq(covaccAddF64(e[k].acc, shifted, (size_t)(bounds[s + 1] - bounds[s]), (size_t)d, &err), 0,
                         "%s", err.msg);
            free(shifted);
        }
        snprintf(names[s], 256, "%s", tmpPath(s == 0 ? "s0" : s == 1 ? "s1" : s == 2 ? "s2" : s == 3 ? "s3" : "s4"));
        strcat(names[s], ".stats.safetensors");
        /* entries deliberately unsorted: the writer sorts them */
        StatsEntry order[3] = {e[2], e[0], e[1]};
        cr_assert_eq(statsWrite(names[s], &meta, order, 3, &err), 0, "%s", err.msg);
        for (int k = 0; k < 3; k++) covaccFree(e[k].acc);
    }
}

static int runMerge(const char *out, char names[][256], const int *order, int n, Error *err)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "merge";
    for (int i = 0; i < n; i++) argv[argc++] = names[order[i]];
    argv[argc++] = "--out";
    argv[argc++] = (char *)out;
    argv[argc] = NULL;
    return cmdMerge(argc, argv, err);
}

TestSuite(stats, .init = setupDir, .fini = teardownDir);

Test(stats, round_trip_is_bit_exact)
{
    const int n = 200, d = 9;
    double *x = randomRows(n, d);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF64(acc, x, n, d, &err), 0, "%s", err.msg);
    acc->nonfinite_rows = 3;
    StatsMeta meta = {.model = "m\xc3\xa9", .family = "llama", .width = d, .n_layers = 12, .producer = "test"};
    StatsEntry e = {7, SITE_PRE, acc, 0, 0};
    const char *path = tmpPath("rt.safetensors");
    cr_assert_eq(statsWrite(path, &meta, &e, 1, &err), 0, "%s", err.msg);
    cr_assert(statsDetect(path));

    StatsMeta got;
    StatsEntry *ge;
    int gn;
    cr_assert_eq(statsRead(path, &got, &ge, &gn, &err), 0, "%s", err.msg);
    cr_assert_eq(gn, 1);
    cr_assert_str_eq(got.model, "m\xc3\xa9");
    cr_assert_str_eq(got.family, "llama");
    cr_assert_str_eq(got.producer, "test");
    cr_assert_eq(got.width, d);
    cr_assert_eq(got.n_layers, 12);
    cr_assert_eq(ge[0].layer, 7);
    cr_assert_eq(ge[0].site, SITE_PRE);
    cr_assert_eq(ge[0].acc->count, n);
    cr_assert_eq(ge[0].acc->nonfinite_rows, 3);
    cr_assert_eq(memcmp(ge[0].acc->mean, acc->mean, d * sizeof(double)), 0);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) cr_assert_eq(sym(ge[0].acc, i, j), sym(acc, i, j));
    /* The file holds the full symmetric matrix, as the format promises. */
    StFile *st;
    cr_assert_eq(stOpen(path, &st, &err), 0, "%s", err.msg);
    const StTensor *t = stFind(st, "layers.7.pre.scatter");
    cr_assert(t && t->dtype == ST_F64 && t->ndim == 2 && t->shape[0] == d && t->shape[1] == d);
    double *full = malloc(d * d * sizeof *full);
    cr_assert_eq(stToF64(t, full, &err), 0);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) cr_assert_eq(full[i * d + j], full[j * d + i]);
    free(full);
    cr_assert_str_eq(stMetadata(st, "ffnscope_stats"), "1");
    stClose(st);
    statsMetaFree(&got);
    statsEntriesFree(ge, gn);
    covaccFree(acc);
    free(x);
}

/* A mixture-of-experts layer: one entry per expert at its own width, named
 * layers.N.S.expertE / expertshared, sorted after the layer's dense entries by
 * expert index with the shared expert last; merge matches them by expert. */
Test(stats, expert_entries_round_trip_and_merge)
{
    Error err = {0};
    const int widths[4] = {4, 3, 3, 5};
    const int layers[4] = {1, 0, 0, 0}, routed[4] = {0, 1, 1, 1}, experts[4] = {0, 1, 0, CAPTURE_SHARED};
    StatsEntry e[4];
    double *x[4];
    for (int k = 0; k < 4; k++) {
        x[k] = randomRows(20 + k, widths[k]);
        e[k] = (StatsEntry){layers[k], SITE_POST, covaccNew(widths[k]), routed[k], experts[k]};
        cr_assert(e[k].acc);
        cr_assert_eq(covaccAddF64(e[k].acc, x[k], 20 + k, widths[k], &err), 0, "%s", err.msg);
    }
    StatsMeta meta = {.model = "moe", .family = "qwen2_moe", .width = 4, .n_layers = 2};
    char names[2][256];
    snprintf(names[0], 256, "%s", tmpPath("moe.safetensors"));
    snprintf(names[1], 256, "%s", names[0]);
    cr_assert_eq(statsWrite(names[0], &meta, e, 4, &err), 0, "%s", err.msg);

    StatsFile *f;
    cr_assert_eq(statsOpen(names[0], &f, &err), 0, "%s", err.msg);
    cr_assert_eq(statsCount(f), 4);
    const char *want[4] = {"layers.0.post.expert0", "layers.0.post.expert1", "layers.0.post.expertshared",
                           "layers.1.post"};
    const int want_src[4] = {2, 1, 3, 0}; /* e[] index of each entry in file order */
    for (int i = 0; i < 4; i++) {
        char name[80];
        StatsKey k = statsKey(f, i);
        statsEntryName(k, name, sizeof name);
        cr_expect_str_eq(name, want[i]);
        const StatsEntry *src = &e[want_src[i]];
        cr_expect_eq(k.width, src->acc->dim, "%s: width %d", name, k.width);
        cr_expect_eq(statsRows(f, i), src->acc->count);
        Covacc *acc = covaccNew(k.width);
        cr_assert_eq(statsLoad(f, i, acc, &err), 0, "%s", err.msg);
        cr_expect_eq(memcmp(acc->mean, src->acc->mean, (size_t)k.width * sizeof(double)), 0, "%s mean", name);
        covaccFree(acc);
    }
    cr_expect_eq(statsFind(f, 1, SITE_POST), 3);
    cr_expect_eq(statsFind(f, 0, SITE_POST), -1, "statsFind names dense entries only");
    statsClose(f);

    /* merging a file with itself doubles every count, each expert at its width */
    const int order[2] = {0, 1};
    const char *out = tmpPath("moe2.safetensors");
    cr_assert_eq(runMerge(out, names, order, 2, &err), EXIT_OK, "%s", err.msg);
    StatsEntry *got;
    int n;
    cr_assert_eq(statsRead(out, NULL, &got, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    for (int i = 0; i < 4; i++) {
        const StatsEntry *src = &e[want_src[i]];
        cr_expect_eq(got[i].routed, src->routed);
        cr_expect_eq(got[i].expert, src->routed ? src->expert : got[i].expert);
        cr_expect_eq(got[i].acc->dim, src->acc->dim);
        cr_expect_eq(got[i].acc->count, 2 * src->acc->count);
    }
    statsEntriesFree(got, n);
    for (int k = 0; k < 4; k++) {
        covaccFree(e[k].acc);
        free(x[k]);
    }
}

/* Merging 1, 2 and 5 shards, in several orders, equals a single accumulator
 * over all rows and a two-pass reference. */
Test(stats, merge_shards_any_order_equals_single_accumulator)
{
    const int n = 3000, d = 12;
    double *x = randomRows(n, d);
    double mean[12], scatter[144];
    twoPass(x, n, d, mean, scatter);
    Covacc *single = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF64(single, x, n, d, &err), 0);
    expectClose(single, n, mean, scatter, 1e-12);

    static const int orders[][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {1, 4, 0, 3, 2}};
    static const int shard_counts[] = {1, 2, 5};
    for (int c = 0; c < 3; c++) {
        int k = shard_counts[c];
        char names[5][256];
        writeShards(x, n, d, k, names);
        for (int o = 0; o < 4; o++) {
            int order[5], m = 0;
            for (int i = 0; i < 5; i++)
                if (orders[o][i] < k) order[m++] = orders[o][i];
            const char *out = tmpPath("merged.safetensors");
            cr_assert_eq(runMerge(out, names, order, k, &err), EXIT_OK, "%s", err.msg);
            StatsMeta meta;
            StatsEntry *e;
            int ne;
            cr_assert_eq(statsRead(out, &meta, &e, &ne, &err), 0, "%s", err.msg);
            cr_assert_eq(ne, 3);
            cr_assert_eq(e[0].layer, 0);
            cr_assert_eq(e[1].layer, 3);
            cr_assert_eq(e[1].site, SITE_POST);
            cr_assert_eq(e[2].site, SITE_PRE);
            cr_assert_str_eq(meta.model, "tiny");
            for (int q = 0; q < 3; q++) {
                double shifted_mean[12];
                for (int j = 0; j < d; j++) shifted_mean[j] = mean[j] + q;
                expectClose(e[q].acc, n, shifted_mean, scatter, 1e-12);
            }
            statsEntriesFree(e, ne);
            statsMetaFree(&meta);
        }
    }
    covaccFree(single);
    free(x);
}

/* (a + b) + c and a + (b + c), through files, agree to float64 rounding. */
Test(stats, merge_is_associative)
{
    const int n = 1000, d = 6;
    double *x = randomRows(n, d);
    char names[5][256];
    writeShards(x, n, d, 5, names);
    Error err = {0};
    char ab[256], bc[256], left[256], right[256];
    snprintf(ab, sizeof ab, "%s", tmpPath("ab"));
    snprintf(bc, sizeof bc, "%s", tmpPath("bc"));
    snprintf(left, sizeof left, "%s", tmpPath("left"));
    snprintf(right, sizeof right, "%s", tmpPath("right"));
    char pair[2][256];
    snprintf(pair[0], 256, "%s", names[0]);
    snprintf(pair[1], 256, "%s", names[2]);
    int o01[2] = {0, 1};
    cr_assert_eq(runMerge(ab, pair, o01, 2, &err), EXIT_OK, "%s", err.msg);
    snprintf(pair[0], 256, "%s", ab);
    snprintf(pair[1], 256, "%s", names[3]);
    cr_assert_eq(runMerge(left, pair, o01, 2, &err), EXIT_OK, "%s", err.msg);
    snprintf(pair[0], 256, "%s", names[2]);
    snprintf(pair[1], 256, "%s", names[3]);
    cr_assert_eq(runMerge(bc, pair, o01, 2, &err), EXIT_OK, "%s", err.msg);
    snprintf(pair[0], 256, "%s", names[0]);
    snprintf(pair[1], 256, "%s", bc);
    cr_assert_eq(runMerge(right, pair, o01, 2, &err), EXIT_OK, "%s", err.msg);
    StatsEntry *l, *r;
    int nl, nr;
    cr_assert_eq(statsRead(left, NULL, &l, &nl, &err), 0, "%s", err.msg);
    cr_assert_eq(statsRead(right, NULL, &r, &nr, &err), 0, "%s", err.msg);
    cr_assert_eq(nl, nr);
    for (int q = 0; q < nl; q++) {
        double full[36];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) full[i * d + j] = sym(r[q].acc, i, j);
        expectClose(l[q].acc, r[q].acc->count, r[q].acc->mean, full, 1e-13);
    }
    statsEntriesFree(l, nl);
    statsEntriesFree(r, nr);
    free(x);
}

/* Walsh columns are orthogonal and zero-mean over 8 rows, so scaling column j
 * by s_j gives eigenvalues exactly s_j^2 * 8 / 7. */
Test(stats, metrics_from_statistics_have_the_known_spectrum)
{
    static const int walsh[8][4] = {{1, 1, 1, 1},   {1, -1, 1, -1}, {1, 1, -1, -1}, {1, -1, -1, 1},
                                    {-1, -1, -1, -1}, {-1, 1, -1, 1}, {-1, -1, 1, 1}, {-1, 1, 1, -1}};
    const double s[4] = {4, 2, 1, 0.5};
    double x[32];
    for (int r = 0; r < 8; r++)
        for (int j = 0; j < 4; j++) x[r * 4 + j] = 50.0 - 3.0 * j + s[j] * walsh[r][j];
    Covacc *acc = covaccNew(4);
    Error err = {0};
    cr_assert_eq(covaccAddF64(acc, x, 8, 4, &err), 0);
    StatsEntry e = {1, SITE_POST, acc, 0, 0};
    StatsMeta meta = {.model = "walsh", .family = "", .width = 4};
    const char *path = tmpPath("walsh.safetensors");
    cr_assert_eq(statsWrite(path, &meta, &e, 1, &err), 0, "%s", err.msg);
    StatsEntry *got;
    int n;
    cr_assert_eq(statsRead(path, NULL, &got, &n, &err), 0, "%s", err.msg);
    Metrics m;
    double eig[4];
    cr_assert_eq(statsMetrics(got[0].acc, "walsh", 0.5, &m, eig, &err), 0, "%s", err.msg);
    double lam[4], sum = 0, sum2 = 0;
    for (int j = 0; j < 4; j++) {
        lam[j] = s[j] * s[j] * 8.0 / 7.0;
        sum += lam[j];
        sum2 += lam[j] * lam[j];
        cr_assert(fabs(eig[j] - lam[j]) <= 1e-12 * lam[0], "eig %d: %.17g vs %.17g", j, eig[j], lam[j]);
    }
    cr_assert(fabs(m.hard_rank - sum * sum / sum2) <= 1e-12 * m.hard_rank);
    cr_assert(fabs(m.concentration - (lam[0] + lam[1]) / sum) <= 1e-12);
    cr_assert_eq(m.tokens, 8);
    cr_assert_eq(m.width, 4);
    statsEntriesFree(got, n);
    covaccFree(acc);
}

Test(stats, spectrum_needs_two_rows)
{
    Covacc *acc = covaccNew(3);
    double x[3] = {1, 2, 3};
    Error err = {0};
    cr_assert_eq(covaccAddF64(acc, x, 1, 3, &err), 0);
    double eig[3];
    cr_assert_eq(statsSpectrum(acc, "f.safetensors: layers.0.post", eig, &err), -1);
    cr_assert_eq(err.code, EXIT_INPUT);
    cr_assert(strstr(err.msg, "layers.0.post"), "%s", err.msg);
    covaccFree(acc);
}

/* --- malformed files ------------------------------------------------------ */

/* A valid D = 3 entry (layers.2.post) that each case breaks in one way. */
typedef struct Bad {
    const char *names[6];
    StDtype dtypes[6];
    int ndims[6];
    int64_t shapes[6][2];
    const void *data[6];
    int n;
    const char *meta[8][2];
    int n_meta;
} Bad;

static int64_t good_count = 10;
static double good_mean[3] = {1, 2, 3};
static double good_scatter[9] = {4, 1, 0.5, 1, 3, -1, 0.5, -1, 2};

static Bad goodFile(void)
{
    Bad b = {
        .names = {"layers.2.post.count", "layers.2.post.mean", "layers.2.post.scatter"},
        .dtypes = {ST_I64, ST_F64, ST_F64},
        .ndims = {1, 1, 2},
        .shapes = {{1}, {3}, {3, 3}},
        .data = {&good_count, good_mean, good_scatter},
        .n = 3,
        .meta = {{"ffnscope_stats", "1"}, {"width", "3"}, {"model", "m"}},
        .n_meta = 3,
    };
    return b;
}

static void writeBad(const char *path, const Bad *b)
{
    StWriter *w = stWriterNew();
    Error err = {0};
    cr_assert(w);
    for (int i = 0; i < b->n_meta; i++) cr_assert_eq(stWriterMeta(w, b->meta[i][0], b->meta[i][1], &err), 0);
    for (int i = 0; i < b->n; i++)
        cr_assert_eq(stWriterAdd(w, b->names[i], b->dtypes[i], b->ndims[i], b->shapes[i], b->data[i], &err), 0, "%s",
                     err.msg);
    cr_assert_eq(stWriterSave(w, path, &err), 0, "%s", err.msg);
    stWriterFree(w);
}

/* Reads with statsRead; expects EXIT_INPUT naming the file and `needle`. */
static void expectBad(const Bad *b, const char *needle)
{
    const char *path = tmpPath("bad.safetensors");
    writeBad(path, b);
    StatsEntry *e = NULL;
    int n = 0;
    Error err = {0};
    cr_expect_eq(statsRead(path, NULL, &e, &n, &err), -1, "accepted a file that should fail with '%s'", needle);
    cr_expect_eq(err.code, EXIT_INPUT, "code %d: %s", err.code, err.msg);
    cr_expect(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the path: %s", err.msg);
    cr_expect(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
    cr_expect_null(e);
}

Test(stats, good_baseline_reads)
{
    Bad b = goodFile();
    const char *path = tmpPath("good.safetensors");
    writeBad(path, &b);
    StatsEntry *e;
    int n;
    Error err = {0};
    cr_assert_eq(statsRead(path, NULL, &e, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(e[0].acc->count, 10);
    cr_assert_eq(e[0].acc->nonfinite_rows, 0);
    statsEntriesFree(e, n);
}

Test(stats, count_as_f64_scalar_reads)
{
    Bad b = goodFile();
    double c = 10;
    b.dtypes[0] = ST_F64;
    b.ndims[0] = 0;
    b.data[0] = &c;
    const char *path = tmpPath("f64count.safetensors");
    writeBad(path, &b);
    StatsEntry *e;
    int n;
    Error err = {0};
    cr_assert_eq(statsRead(path, NULL, &e, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(e[0].acc->count, 10);
    statsEntriesFree(e, n);
}

Test(stats, rejects_malformed_files)
{
    Bad b;
    b = goodFile(), b.names[0] = "layers.2.post.expert01.count";
    expectBad(&b, "not a statistics tensor");
    b = goodFile(), b.names[0] = "layers.2.post.expert.count";
    expectBad(&b, "not a statistics tensor");
    b = goodFile(), b.names[0] = "layers.2.post.expert0.count", b.names[1] = "layers.2.post.expert0.mean";
    b.names[2] = "layers.2.post.expert0.scatter", b.shapes[2][0] = b.shapes[2][1] = 2;
    expectBad(&b, "layers.2.post.expert0.scatter': shape is not [3, 3]");
    b = goodFile(), b.meta[0][0] = "format";
    expectBad(&b, "not a covariance statistics file");
    b = goodFile(), b.meta[0][1] = "2";
    expectBad(&b, "format version 2");
    b = goodFile(), b.meta[0][1] = "one";
    expectBad(&b, "ffnscope_stats");
    b = goodFile(), b.meta[1][0] = "D";
    expectBad(&b, "no 'width'");
    b = goodFile(), b.meta[1][1] = "0";
    expectBad(&b, "'width'");
    b = goodFile(), b.meta[1][1] = "4";
    expectBad(&b, "layers.2.post.mean");
    b = goodFile(), b.names[1] = "layers.2.post.average";
    expectBad(&b, "layers.2.post.average");
    b = goodFile(), b.names[0] = "blocks.2.post.count";
    expectBad(&b, "blocks.2.post.count");
    b = goodFile(), b.names[0] = "layers.02.post.count";
    expectBad(&b, "layers.02.post.count");
    b = goodFile(), b.names[0] = "layers.2.mid.count";
    expectBad(&b, "layers.2.mid.count");
    b = goodFile(), b.n = 2;
    expectBad(&b, "layers.2.post.scatter' is missing");
    b = goodFile(), b.names[0] = "layers.3.post.count";
    expectBad(&b, "is missing");
    b = goodFile(), b.n = 0;
    expectBad(&b, "no statistics tensors");

    static const float f32mean[3] = {1, 2, 3};
    b = goodFile(), b.dtypes[1] = ST_F32, b.data[1] = f32mean;
    expectBad(&b, "layers.2.post.mean': dtype F32");
    b = goodFile(), b.shapes[1][0] = 2;
    expectBad(&b, "layers.2.post.mean': shape");
    b = goodFile(), b.ndims[2] = 1, b.shapes[2][0] = 9;
    expectBad(&b, "layers.2.post.scatter': shape");
    static const int32_t i32count = 10;
    b = goodFile(), b.dtypes[0] = ST_I32, b.data[0] = &i32count;
    expectBad(&b, "layers.2.post.count': dtype I32");
    static const int64_t two_counts[2] = {5, 5};
    b = goodFile(), b.shapes[0][0] = 2, b.data[0] = two_counts;
    expectBad(&b, "layers.2.post.count': shape");
    static const int64_t negative = -5;
    b = goodFile(), b.data[0] = &negative;
    expectBad(&b, "negative count");
    static const double fractional = 1.5;
    b = goodFile(), b.dtypes[0] = ST_F64, b.data[0] = &fractional;
    expectBad(&b, "not a whole number");
    b = goodFile(), b.names[3] = "layers.2.post.nonfinite", b.dtypes[3] = ST_I64, b.ndims[3] = 1,
    b.shapes[3][0] = 1, b.data[3] = &negative, b.n = 4;
    expectBad(&b, "layers.2.post.nonfinite");

    static double nan_mean[3] = {1, NAN, 3};
    b = goodFile(), b.data[1] = nan_mean;
    expectBad(&b, "layers.2.post.mean': element 1 is not finite");
    static double inf_scatter[9] = {4, 1, 0.5, 1, INFINITY, -1, 0.5, -1, 2};
    b = goodFile(), b.data[2] = inf_scatter;
    expectBad(&b, "element (1, 1) is not finite");
    static double asym[9] = {4, 1, 0.5, 1.5, 3, -1, 0.5, -1, 2};
    b = goodFile(), b.data[2] = asym;
    expectBad(&b, "not symmetric");
    static double negdiag[9] = {4, 0, 0, 0, -3, 0, 0, 0, 2};
    b = goodFile(), b.data[2] = negdiag;
    expectBad(&b, "negative diagonal");
    static double too_big[9] = {1, 5, 0, 5, 1, 0, 0, 0, 1};
    b = goodFile(), b.data[2] = too_big;
    expectBad(&b, "exceeds sqrt");
    static const int64_t zero = 0;
    b = goodFile(), b.data[0] = &zero;
    expectBad(&b, "count is 0 but the mean is not zero");
}

Test(stats, rejects_truncated_and_non_safetensors_files)
{
    Bad b = goodFile();
    const char *path = tmpPath("trunc.safetensors");
    writeBad(path, &b);
    FILE *fp = fopen(path, "r+");
    cr_assert(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    cr_assert_eq(truncate(path, size - 5), 0);
    StatsFile *f;
    Error err = {0};
    cr_expect_eq(statsOpen(path, &f, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_expect(strstr(err.msg, path), "%s", err.msg);
    cr_expect_not(statsDetect(path));
    const char *text = tmpPath("text.safetensors");
    fp = fopen(text, "w");
    fputs("hello, not a safetensors file\n", fp);
    fclose(fp);
    cr_expect_eq(statsOpen(text, &f, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_expect_not(statsDetect(tmpPath("does-not-exist")));
}

/* Shards that describe different models: exit 2 naming the odd file. */
Test(stats, merge_rejects_disagreeing_shards)
{
    const int n = 50, d = 4;
    double *x = randomRows(n, d);
    Covacc *acc = covaccNew(d), *acc5 = covaccNew(5);
    Error err = {0};
    cr_assert_eq(covaccAddF64(acc, x, n, d, &err), 0);
    double *x5 = randomRows(n, 5);
    cr_assert_eq(covaccAddF64(acc5, x5, n, 5, &err), 0);
    char names[2][256];
    snprintf(names[0], 256, "%s", tmpPath("a.safetensors"));
    snprintf(names[1], 256, "%s", tmpPath("b.safetensors"));
    StatsMeta meta = {.model = "m", .family = "gpt2", .width = d, .n_layers = 4};
    StatsEntry e[2] = {{0, SITE_POST, acc, 0, 0}, {1, SITE_POST, acc, 0, 0}};
    cr_assert_eq(statsWrite(names[0], &meta, e, 2, &err), 0, "%s", err.msg);
    int order[2] = {0, 1};
    const char *out = tmpPath("out.safetensors");

    struct {
        StatsMeta meta;
        StatsEntry e[2];
        int n;
        const char *needle;
    } cases[] = {
        {{.model = "other", .family = "gpt2", .width = d, .n_layers = 4}, {{0, SITE_POST, acc, 0, 0}, {1, SITE_POST, acc, 0, 0}}, 2, "model 'other'"},
        {{.model = "m", .family = "llama", .width = d, .n_layers = 4}, {{0, SITE_POST, acc, 0, 0}, {1, SITE_POST, acc, 0, 0}}, 2, "family 'llama'"},
        {{.model = "m", .family = "gpt2", .width = 5, .n_layers = 4}, {{0, SITE_POST, acc5, 0, 0}, {1, SITE_POST, acc5, 0, 0}}, 2, "width 5"},
        {{.model = "m", .family = "gpt2", .width = d, .n_layers = 4}, {{0, SITE_POST, acc, 0, 0}}, 1, "has no statistics for layers.1.post"},
        {{.model = "m", .family = "gpt2", .width = d, .n_layers = 4}, {{0, SITE_POST, acc, 0, 0}, {1, SITE_PRE, acc, 0, 0}}, 2, "layers.1.p"},
        {{.model = "m", .family = "gpt2", .width = d, .n_layers = 4}, {{0, SITE_POST, acc, 0, 0}, {1, SITE_POST, acc, 0, 0}}, 2, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cr_assert_eq(statsWrite(names[1], &cases[c].meta, cases[c].e, cases[c].n, &err), 0, "%s", err.msg);
        unlink(out);
        memset(&err, 0, sizeof err);
        int rc = runMerge(out, names, order, 2, &err);
        if (!cases[c].needle) {
            cr_expect_eq(rc, EXIT_OK, "%s", err.msg);
            continue;
        }
        cr_expect_eq(rc, EXIT_INPUT, "case %zu: rc %d", c, rc);
        cr_expect(strncmp(err.msg, names[1], strlen(names[1])) == 0, "case %zu: %s", c, err.msg);
        cr_expect(strstr(err.msg, cases[c].needle), "case %zu: '%s' not in %s", c, cases[c].needle, err.msg);
        cr_expect_neq(access(out, F_OK), 0, "case %zu: output written despite the error", c);
    }
    /* A shard whose values are broken is named too, and nothing is written. */
    static double asym[9] = {4, 1, 0.5, 2, 3, -1, 0.5, -1, 2};
    Bad b = goodFile();
    writeBad(names[0], &b);
    b.data[2] = asym;
    writeBad(names[1], &b);
    unlink(out);
    cr_expect_eq(runMerge(out, names, order, 2, &err), EXIT_INPUT);
    cr_expect(strncmp(err.msg, names[1], strlen(names[1])) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "not symmetric"), "%s", err.msg);
    cr_expect_neq(access(out, F_OK), 0);
    char *argv[] = {"merge", names[0], NULL};
    cr_expect_eq(cmdMerge(2, argv, &err), EXIT_INPUT);
    cr_expect(strstr(err.msg, "--out"), "%s", err.msg);
    covaccFree(acc);
    covaccFree(acc5);
    free(x);
    free(x5);
}
