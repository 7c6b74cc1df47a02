/* The worker thread: pause and resume, quitting mid-capture, restarting a
 * model (its accumulators start again from zero), failed models, snapshot
 * generations. The numbers themselves are checked against numpy by
 * check_run.py. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ffnscope/config.h"
#include "ffnscope/worker.h"
#include "testutil.h"

#define ROWS 16384   /* eight chunks of 2048 rows at D = 512: about a second of capture */
#define WIDTH 512

static char dir[256];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void writeActs(const char *name, int rows, int width, unsigned seed)
{
    float *x = malloc(sizeof(float) * (size_t)rows * (size_t)width);
    cr_assert(x);
    srand(seed);
    for (size_t i = 0; i < (size_t)rows * (size_t)width; i++) {
        size_t col = i % (size_t)width;
        x[i] = (float)((rand() / (double)RAND_MAX - 0.5) / (1.0 + (double)col));
    }
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert(testWriteNpyF32(p, x, rows, width) == 0);
    free(x);
}

static void setup(void)
{
    cr_assert(testTempDir(dir, sizeof dir) == 0);
    writeActs("big.npy", ROWS, WIDTH, 1);
    writeActs("small.npy", 3000, 32, 2);
    char p[512];
    snprintf(p, sizeof p, "%s/broken.npy", dir);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    fputs("\x93NUMPY garbage", fp);
    fclose(fp);
}

static void teardown(void) { testRemoveTree(dir); }

TestSuite(worker, .init = setup, .fini = teardown, .timeout = 120);

static Config *loadConfig(const char *models)
{
    char p[512], text[2048];
    snprintf(p, sizeof p, "%s/w.yaml", dir);
    snprintf(text, sizeof text, "version: 1\ncapture:\n  refresh_tokens: 2048\nmodels:\n%s", models);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    fputs(text, fp);
    fclose(fp);
    Config *cfg;
    Error err = {0};
    cr_assert(configLoad(p, &cfg, &err) == 0, "%s", err.msg);
    return cfg;
}

/* Waits (up to 60 s) until pred holds for the latest snapshot; returns it retained. */
static Snapshot *waitFor(Worker *w, int (*pred)(const Snapshot *))
{
    double until = now() + 60;
    uint64_t gen = 0;
    for (;;) {
        Snapshot *s = workerSnapshot(w);
        cr_assert(s->generation >= gen, "generations never go back");
        gen = s->generation;
        if (pred(s)) return s;
        snapshotRelease(s);
        cr_assert(now() < until, "timed out waiting for the worker");
        workerWait(w, gen, 200);
    }
}

static int isPaused(const Snapshot *s) { return s->state == WORKER_PAUSED; }

/* The first model has captured something and has more to go. */
static int isCapturing(const Snapshot *s)
{
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].status == MODEL_CAPTURING && s->models[i].tokens_done > 0) return 1;
    return 0;
}

/* Pauses the worker in the middle of a capture. */
static Snapshot *pauseMidCapture(Worker *w)
{
    snapshotRelease(waitFor(w, isCapturing));
    workerPause(w);
    return waitFor(w, isPaused);
}
static int isDone(const Snapshot *s) { return s->state == WORKER_DONE; }

static const ModelSnapshot *model(const Snapshot *s, const char *name)
{
    int i = snapshotFindModel(s, name);
    cr_assert(i >= 0, "no model %s", name);
    return &s->models[i];
}

static void assertComplete(const ModelSnapshot *m, int rows, int width)
{
    cr_assert_eq(m->status, MODEL_DONE, "%s: %s", m->name, modelStatusName(m->status));
    cr_assert_eq(m->tokens_done, rows);
    cr_assert_eq(m->tokens_target, rows);
    cr_assert_eq(m->width, width);
    cr_assert_eq(m->n_rows, 1);
    cr_assert_eq(m->rows[0].n_eigen, width);
    cr_assert_eq(m->rows[0].metrics.tokens, rows, "accumulated %lld rows", (long long)m->rows[0].metrics.tokens);
    for (int i = 1; i < width; i++) cr_assert(m->rows[0].eigen[i] <= m->rows[0].eigen[i - 1]);
}

Test(worker, runs_to_the_end)
{
    Config *cfg = loadConfig("  - path: small.npy\n  - path: big.npy\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = waitFor(w, isDone);
    /* grouped by family, then by width */
    cr_assert_str_eq(s->models[0].name, "small");
    cr_assert_str_eq(s->models[1].name, "big");
    assertComplete(model(s, "small"), 3000, 32);
    assertComplete(model(s, "big"), ROWS, WIDTH);
    cr_assert_str_eq(s->models[1].family, "acts");
    cr_assert_str_eq(s->models[1].format, "npy");
    cr_assert(s->n_fits > 0);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

Test(worker, pause_holds_and_resume_finishes)
{
    Config *cfg = loadConfig("  - path: big.npy\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = pauseMidCapture(w);
    const ModelSnapshot *m = model(s, "big");
    cr_assert_eq(m->status, MODEL_CAPTURING);
    int64_t tokens = m->tokens_done;
    uint64_t gen = s->generation;
    cr_assert(tokens < ROWS, "paused at %lld of %d rows", (long long)tokens, ROWS);
    snapshotRelease(s);
    usleep(300 * 1000);
    s = workerSnapshot(w);
    cr_assert_eq(s->state, WORKER_PAUSED);
    cr_assert_eq(model(s, "big")->tokens_done, tokens, "no progress while paused");
    cr_assert_eq(s->generation, gen, "nothing published while paused");
    snapshotRelease(s);
    workerResume(w);
    s = waitFor(w, isDone);
    assertComplete(model(s, "big"), ROWS, WIDTH);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

Test(worker, quit_mid_capture_is_prompt_and_clean)
{
    Config *cfg = loadConfig("  - path: big.npy\n  - path: small.npy\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    snapshotRelease(pauseMidCapture(w));
    double t = now();
    workerStop(w);
    cr_assert(now() - t < 2.0, "stop took %.2f s", now() - t);
    Snapshot *s = workerSnapshot(w);
    cr_assert_eq(s->state, WORKER_STOPPED);
    cr_assert_eq(model(s, "big")->status, MODEL_CAPTURING);
    cr_assert(model(s, "big")->tokens_done < ROWS);
    cr_assert_eq(model(s, "small")->status, MODEL_QUEUED);
    snapshotRelease(s);
    workerFree(w);

    /* and while running, without a pause */
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    usleep(20 * 1000);
    t = now();
    workerStop(w);
    cr_assert(now() - t < 2.0, "stop took %.2f s", now() - t);
    s = workerSnapshot(w);
    cr_assert(s->state == WORKER_STOPPED || s->state == WORKER_DONE);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

Test(worker, restart_resets_the_accumulators)
{
    Config *cfg = loadConfig("  - path: big.npy\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = pauseMidCapture(w);
    cr_assert(model(s, "big")->tokens_done > 0 && model(s, "big")->tokens_done < ROWS);
    snapshotRelease(s);
    workerRestartModel(w, 0);
    workerResume(w);
    s = waitFor(w, isDone);
    /* rows counted once: the restarted model began again from zero */
    assertComplete(model(s, "big"), ROWS, WIDTH);
    double sr = model(s, "big")->rows[0].metrics.soft_rank;
    uint64_t gen = s->generation;
    snapshotRelease(s);

    /* a finished model runs again on request */
    workerRestartModel(w, 0);
    workerWait(w, gen, 5000);
    s = waitFor(w, isDone);
    cr_assert(s->generation > gen);
    assertComplete(model(s, "big"), ROWS, WIDTH);
    cr_assert_float_eq(model(s, "big")->rows[0].metrics.soft_rank, sr, 1e-9 * sr);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

Test(worker, a_failed_model_does_not_stop_the_others)
{
    Config *cfg = loadConfig("  - path: broken.npy\n  - path: small.npy\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = waitFor(w, isDone);
    const ModelSnapshot *bad = model(s, "broken");
    cr_assert_eq(bad->status, MODEL_FAILED);
    cr_assert_eq(bad->error_code, EXIT_INPUT);
    cr_assert(bad->error && strstr(bad->error, "broken.npy: "), "error: %s", bad->error ? bad->error : "(none)");
    cr_assert_eq(bad->n_rows, 0);
    assertComplete(model(s, "small"), 3000, 32);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

Test(worker, layer_and_site_selection_leaves_nothing)
{
    /* an unnamed .npy is layer 0, site post: selecting layer 1 leaves no tensor */
    char p[512];
    snprintf(p, sizeof p, "%s/sel.yaml", dir);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    fputs("version: 1\ncapture:\n  layers: [1]\nmodels:\n  - path: small.npy\n", fp);
    fclose(fp);
    Config *cfg;
    Error err = {0};
    cr_assert(configLoad(p, &cfg, &err) == 0, "%s", err.msg);
    Worker *w;
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = waitFor(w, isDone);
    const ModelSnapshot *m = model(s, "small");
    cr_assert_eq(m->status, MODEL_FAILED);
    char want[600];
    snprintf(want, sizeof want, "%s/small.npy: none of its 1 tensor matches capture.layers and capture.sites", dir);
    cr_assert_str_eq(m->error, want);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}

/* Two layers of width 256 in one safetensors file, 3 chunks of rows. */
static void writeTwoLayers(const char *name, int rows)
{
    const char *names[2] = {"blocks.0.hook_post", "blocks.1.hook_post"};
    float *x[2];
    srand(7);
    for (int l = 0; l < 2; l++) {
        x[l] = malloc(sizeof(float) * (size_t)rows * 256);
        cr_assert(x[l]);
        for (size_t i = 0; i < (size_t)rows * 256; i++) x[l][i] = (float)(rand() / (double)RAND_MAX - 0.5);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert(testWriteSafetensorsF32(p, 2, names, (const float *const *)x, rows, 256) == 0);
    free(x[0]);
    free(x[1]);
}

Test(worker, focused_layer_is_refreshed_first)
{
    writeTwoLayers("two.safetensors", 12288);
    Config *cfg = loadConfig("  - path: two.safetensors\n");
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    workerFocus(w, 0, 1, SITE_POST);   /* without focus the round-robin starts at layer 0 */
    uint64_t gen = 0;
    for (;;) {
        gen = workerWait(w, gen, 1000);
        Snapshot *s = workerSnapshot(w);
        const ModelSnapshot *m = &s->models[0];
        if (m->status == MODEL_CAPTURING && m->n_rows == 2)
            cr_assert(!(m->rows[0].n_eigen > 0 && m->rows[1].n_eigen == 0),
                      "layer 0 was refreshed before the focused layer 1");
        int done = s->state == WORKER_DONE;
        snapshotRelease(s);
        if (done) break;
    }
    workerFree(w);
    configFree(cfg);
}

Test(worker, refreshes_stay_within_a_fifth_of_the_time)
{
    writeTwoLayers("two.safetensors", 12288);
    char p[512];
    snprintf(p, sizeof p, "%s/often.yaml", dir);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    /* a refresh asked for after every 256 rows: far more than the budget allows */
    fputs("version: 1\ncapture:\n  refresh_tokens: 256\nmodels:\n  - path: two.safetensors\n", fp);
    fclose(fp);
    Config *cfg;
    cr_assert(configLoad(p, &cfg, &(Error){0}) == 0);
    Worker *w;
    Error err = {0};
    cr_assert(workerStart(cfg, &w, &err) == 0, "%s", err.msg);
    Snapshot *s = waitFor(w, isDone);
    const ModelSnapshot *m = &s->models[0];
    cr_assert_eq(m->status, MODEL_DONE);
    cr_assert(m->refresh_s > 0, "no refresh during the capture");
    cr_assert(m->refresh_s <= 0.2 * m->elapsed_s + 0.05, "refreshes took %.3f s of %.3f s", m->refresh_s,
              m->elapsed_s);
    cr_assert_eq(m->rows[0].metrics.tokens, 12288);
    cr_assert_eq(m->rows[1].metrics.tokens, 12288);
    snapshotRelease(s);
    workerFree(w);
    configFree(cfg);
}
