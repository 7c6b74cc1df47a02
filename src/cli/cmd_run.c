/* ffnscope run CONFIG [--out DIR], or run MODEL... [options]: the headless
 * run. The same worker as the
 * dashboard captures; progress goes to stderr (a bar per model on a
 * terminal, one line per finished model otherwise), the metrics table to
 * stdout and the results to DIR (default: the config's output.dir).
 *
 * Exit: 0 when every model succeeded; 1 when some failed (results written
 * for the others, failures listed); 2 for usage and config errors, and when
 * every model failed on bad input (then nothing is written). Ctrl-C stops
 * the worker cleanly and writes nothing. */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/implicit.h"
#include "ffnscope/config.h"
#include "ffnscope/model.h"
#include "ffnscope/results.h"
#include "ffnscope/worker.h"

static volatile sig_atomic_t interrupted;

static void onSigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int termCols(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

static void formatDuration(char *buf, size_t len, double s)
{
    if (!(s >= 0) || s > 359999) {
        snprintf(buf, len, "--:--");
        return;
    }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, len, "%d:%02d", t / 60, t % 60);
}

/* The finished line of a model, the same on a terminal and in a log. */
static void finishedLine(FILE *fp, const ModelSnapshot *m)
{
    if (m->status == MODEL_FAILED) {
        fprintf(fp, "%s: failed: %s\n", m->name, m->error ? m->error : "unknown error");
        return;
    }
    char split[256] = "";
    size_t n = 0;
    for (int p = 0; p < PHASE_COUNT && n < sizeof split; p++)
        if (m->phases & PHASE_BIT(p))
            n += (size_t)snprintf(split + n, sizeof split - n, "%s%s %.1f", n ? ", " : " (", phaseName((Phase)p),
                                  m->phase_s[p]);
    /* the rest of elapsed_s only when it is worth a reader's attention */
    double other = snapshotPhaseOther(m);
    if (n && n < sizeof split && other >= 0.1 && other >= 0.02 * m->elapsed_s)
        n += (size_t)snprintf(split + n, sizeof split - n, ", other %.1f", other);
    if (n && n < sizeof split) snprintf(split + n, sizeof split - n, ")");
    fprintf(fp, "%s: done, %lld tokens, %.1f s%s, %.0f tokens/s\n", m->name, (long long)m->tokens_done, m->elapsed_s,
            split, m->tokens_per_s);
}

static void drawBar(const ModelSnapshot *m)
{
    int cols = termCols();
    char line[512], eta[32];
    double frac = m->tokens_target > 0 ? (double)m->tokens_done / (double)m->tokens_target : 0;
    if (frac > 1) frac = 1;
    double left = m->tokens_per_s > 0 ? (double)(m->tokens_target - m->tokens_done) / m->tokens_per_s : NAN;
    formatDuration(eta, sizeof eta, left);
    int barw = 24, fill = (int)(frac * barw + 0.5);
    char bar[64];
    for (int i = 0; i < barw; i++) bar[i] = i < fill ? '#' : '-';
    bar[barw] = '\0';
    if (m->status == MODEL_LOADING || m->status == MODEL_QUEUED)
        snprintf(line, sizeof line, "%s: loading", m->name);
    else if (m->tokens_target > 0 && m->tokens_done >= m->tokens_target)
        snprintf(line, sizeof line, "%s [%s] 100%% %lld tokens, computing the final spectra", m->name, bar,
                 (long long)m->tokens_done);
    else
        snprintf(line, sizeof line, "%s [%s] %3d%% %lld/%lld tokens %.0f tok/s ETA %s", m->name, bar,
                 (int)(frac * 100), (long long)m->tokens_done, (long long)m->tokens_target, m->tokens_per_s, eta);
    if ((int)strlen(line) > cols - 1) line[cols - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

/* Shows progress until the worker is done (or Ctrl-C). */
static Snapshot *follow(Worker *w, int tty, int n_models)
{
    char *shown = calloc((size_t)(n_models ? n_models : 1), 1);
    char *planned = calloc((size_t)(n_models ? n_models : 1), 1);
    uint64_t gen = 0;
    Snapshot *s = NULL;
    int bar_up = 0;
    for (;;) {
        gen = workerWait(w, gen, tty ? 200 : 500);
        snapshotRelease(s);
        s = workerSnapshot(w);
        for (int i = 0; tty && planned && i < s->n_models; i++) {
            /* the memory plan, once per model: on a terminal before its capture,
             * in a log with its finished line (a lone model's bad input stays
             * one error line) */
            if (planned[i] || !s->models[i].plan) continue;
            if (bar_up) fputs("\r\033[K", stderr);
            bar_up = 0;
            fprintf(stderr, "%s: plan: %s\n", s->models[i].name, s->models[i].plan);
            planned[i] = 1;
        }
        for (int i = 0; shown && i < s->n_models; i++) {
            const ModelSnapshot *m = &s->models[i];
            if (shown[i] || (m->status != MODEL_DONE && m->status != MODEL_FAILED)) continue;
            if (bar_up) fputs("\r\033[K", stderr);
            bar_up = 0;
            /* A lone model's failure is the run's error line; saying it twice
             * would break the one-line contract for bad input. */
            if (n_models > 1 || m->status != MODEL_FAILED) {
                if (planned && !planned[i] && m->plan) fprintf(stderr, "%s: plan: %s\n", m->name, m->plan);
                finishedLine(stderr, m);
            }
            shown[i] = 1;
        }
        if (s->state == WORKER_DONE || s->state == WORKER_STOPPED || interrupted) break;
        if (tty)
            for (int i = 0; i < s->n_models; i++)
                if (s->models[i].status == MODEL_LOADING || s->models[i].status == MODEL_CAPTURING) {
                    drawBar(&s->models[i]);
                    bar_up = 1;
                }
    }
    if (bar_up) fputs("\r\033[K", stderr);
    fflush(stderr);
    free(shown);
    free(planned);
    return s;
}

/* The expert column of a mixture-of-experts row: its index, "shared", or
 * empty for a dense FFN. */
static const char *expertLabel(const LayerSnapshot *r, char *buf, size_t len)
{
    if (!r->routed) snprintf(buf, len, "-");
    else if (r->expert == CAPTURE_SHARED) snprintf(buf, len, "shared");
    else snprintf(buf, len, "%d", r->expert);
    return buf;
}

static void printTable(const Snapshot *s)
{
    int nw = 5, fw = 6, moe = 0;
    for (int i = 0; i < s->n_models; i++) {
        int a = (int)strlen(s->models[i].name), b = (int)strlen(s->models[i].family ? s->models[i].family : "");
        if (a > nw) nw = a;
        if (b > fw) fw = b;
        for (int j = 0; j < s->models[i].n_rows; j++) moe |= s->models[i].rows[j].routed;
    }
    /* the expert column only when a model has routed experts: dense tables stay as they were */
    printf("%-*s  %-*s %6s %5s %-4s ", nw, "model", fw, "family", "width", "layer", "site");
    if (moe) printf("%-6s ", "expert");
    printf("%8s %9s %9s %9s %9s %7s %7s %7s %7s  %s\n", "tokens", "hard_rank", "soft_rank", "hard_util", "soft_util",
           "C_k", "EEE", "SUI", "alpha", "warnings");
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        if (m->status == MODEL_FAILED) continue;
        for (int j = 0; j < m->n_rows; j++) {
            const LayerSnapshot *r = &m->rows[j];
            if (!snapshotRowCounted(r)) continue;
            const Metrics *x = &r->metrics;
            char warn[256], alpha[32], ex[16];
            printf("%-*s  %-*s %6d %5d %-4s ", nw, m->name, fw, m->family ? m->family : "",
                   r->width > 0 ? r->width : x->width, r->layer, siteName(r->site));
            if (moe) printf("%-6s ", expertLabel(r, ex, sizeof ex));
            if (r->n_eigen <= 0) { /* an expert that got fewer than two tokens: its count, no spectrum */
                printf("%8lld %9s %9s %9s %9s %7s %7s %7s %7s  %s\n", (long long)snapshotRowTokens(r), "-", "-", "-",
                       "-", "-", "-", "-", "-", metricsWarnings(x, warn, sizeof warn));
                continue;
            }
            if (isfinite(x->alpha)) snprintf(alpha, sizeof alpha, "%7.3f", x->alpha);
            else snprintf(alpha, sizeof alpha, "%7s", "-");
            printf("%8lld %9.2f %9.2f %9.4f %9.4f %7.4f %7.4f %7.4f %s  %s\n", (long long)x->tokens, x->hard_rank,
                   x->soft_rank, x->hard_util, x->soft_util, x->concentration, x->eee, x->sui, alpha,
                   metricsWarnings(x, warn, sizeof warn));
        }
    }
    int any = 0;
    for (int i = 0; i < s->n_fits; i++) any |= s->fits[i].fit.valid;
    if (!any) return;
    printf("\nscaling fits, metric = A * width^beta (median over layers, one point per model)\n");
    printf("%-*s %-4s %-9s %3s %8s %19s %7s %8s\n", fw, "family", "site", "metric", "n", "beta", "95% interval", "R^2",
           "dbeta");
    for (int i = 0; i < s->n_fits; i++) {
        const FitSnapshot *f = &s->fits[i];
        if (!f->fit.valid) continue;
        char db[32] = "";
        double d = snapshotDeltaBeta(s, f->family, f->site);
        if (f->rank == RANK_SOFT && isfinite(d)) snprintf(db, sizeof db, "%8.3f", d);
        printf("%-*s %-4s %-9s %3d %8.3f [%8.3f, %8.3f] %7.3f %s\n", fw, f->family, siteName(f->site),
               f->rank == RANK_SOFT ? "soft_rank" : "hard_rank", f->fit.n, f->fit.beta, f->fit.beta_ci_low,
               f->fit.beta_ci_high, f->fit.r2, db);
    }
}

#define RUN_USAGE                                                                                            \
    "usage: ffnscope run CONFIG [--out DIR] [--save-stats FILE|DIR] [--memory-limit SIZE]\n"                                         \
    "       ffnscope run MODEL... [--corpus FILE] [--tokens N] [--seq-len T] [--batch B]\n"                     \
    "                             [--sites pre,post] [--layers SPEC] [--out DIR] [--print-config]"

static int usage(Error *err) { return errorSet(err, EXIT_INPUT, "%s", RUN_USAGE); }

int runLoadConfig(int n_pos, char **pos, ImplicitArgs *ia, int print_config, Config **cfg, Error *err)
{
    int implicit = n_pos > 1 || (n_pos == 1 && implicitIsModelSource(pos[0]));
    if (!implicit) {
        if (ia->corpus || ia->tokens || ia->seq_len || ia->batch || ia->sites || ia->layers || print_config)
            return errorSet(err, EXIT_INPUT, "--corpus, --tokens, --seq-len, --batch, --sites, --layers and "
                                             "--print-config go with models named on the command line, not a config");
        return configLoad(pos[0], cfg, err);
    }
    for (int i = 0; i < n_pos; i++) {
        if (!implicitIsModelSource(pos[i]))
            return errorSet(err, EXIT_INPUT, "%s: not a model (a folder with config.json, .gguf, .bin, .npy or "
                                             ".safetensors)", pos[i]);
        if (ia->n_models == (int)(sizeof ia->models / sizeof ia->models[0]))
            return errorSet(err, EXIT_INPUT, "too many models on the command line; write a config");
        ia->models[ia->n_models++] = pos[i];
    }
    if (print_config) {
        char *yaml;
        if (implicitYaml(ia, &yaml, err)) return -1;
        fputs(yaml, stdout);
        free(yaml);
        *cfg = NULL;
        return 0;
    }
    return implicitConfig(ia, cfg, err);
}

int cmdRun(int argc, char **argv, Error *err)
{
    const char *out = NULL, *save_stats = NULL;
    uint64_t memory_limit = 0;
    char *pos[64];
    int n_pos = 0, print_config = 0;
    ImplicitArgs ia = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(RUN_USAGE "\n"
                   "Captures every model of CONFIG, writes the results directory (default: the config's\n"
                   "output.dir) and prints the metrics table. --save-stats also writes each model's\n"
                   "covariance statistics (ffnscope analyze/merge read them): to FILE for a single\n"
                   "model, or to DIR/NAME.stats.safetensors. --memory-limit caps the memory each model's\n"
                   "plan may use (bytes, or K, M, G as powers of 1024; default: capture.memory_limit, else\n"
                   "80%% of the memory available): see `ffnscope plan`.\n"
                   "Models named instead of a config (checkpoint folders, .gguf, .bin, activation or\n"
                   "statistics files) run on the bundled Persuasion unless --corpus says otherwise, with\n"
                   "results in results/<first model's name>; --print-config writes that config as YAML.\n");
            return EXIT_OK;
        }
        int taken = implicitOption(argc, argv, &i, &ia, err);
        if (taken < 0) return EXIT_INPUT;
        if (taken) continue;
        if (!strcmp(argv[i], "--print-config")) {
            print_config = 1;
        } else if (!strcmp(argv[i], "--out")) {
            if (++i >= argc) return errorSet(err, EXIT_INPUT, "run: --out needs a folder"), EXIT_INPUT;
            out = argv[i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (!strcmp(argv[i], "--save-stats")) {
            if (++i >= argc || !*argv[i])
                return errorSet(err, EXIT_INPUT, "run: --save-stats needs a file or folder"), EXIT_INPUT;
            save_stats = argv[i];
        } else if (!strncmp(argv[i], "--save-stats=", 13) && argv[i][13]) {
            save_stats = argv[i] + 13;
        } else if (!strcmp(argv[i], "--memory-limit") || !strncmp(argv[i], "--memory-limit=", 15)) {
            const char *v = argv[i][14] == '=' ? argv[i] + 15 : ++i < argc ? argv[i] : NULL;
            if (cliMemoryLimit("run", v, &memory_limit, err)) return EXIT_INPUT;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            errorSet(err, EXIT_INPUT, "run: unknown option '%s' (see ffnscope run --help)", argv[i]);
            return EXIT_INPUT;
        } else if (n_pos < (int)(sizeof pos / sizeof pos[0])) {
            pos[n_pos++] = argv[i];
        } else {
            usage(err);
            return EXIT_INPUT;
        }
    }
    if (!n_pos || (out && !*out)) {
        usage(err);
        return EXIT_INPUT;
    }
    ia.out = out;
    Config *cfg;
    if (runLoadConfig(n_pos, pos, &ia, print_config, &cfg, err)) return err->code ? err->code : EXIT_INPUT;
    if (!cfg) return EXIT_OK; /* --print-config */
    if (!out) out = cfg->output_dir;
    if (save_stats) {
        /* one file holds one model: several need a folder (checked now, not after the capture) */
        struct stat st;
        size_t sl = strlen(save_stats);
        int is_dir = save_stats[sl - 1] == '/' || (stat(save_stats, &st) == 0 && S_ISDIR(st.st_mode));
        if (!is_dir && cfg->n_models != 1) {
            errorSet(err, EXIT_INPUT, "run: --save-stats %s: the config has %d models; give a folder", save_stats,
                     cfg->n_models);
            configFree(cfg);
            return EXIT_INPUT;
        }
        cfg->save_stats = save_stats;
    }

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = onSigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    /* nobody sees intermediate spectra here: only the final refresh of each model runs */
    WorkerOptions wopt = {.live = 0, .memory_limit = memory_limit, .spill_dir = out};
    Worker *w;
    if (workerStartWith(cfg, &wopt, &w, err)) {
        configFree(cfg);
        return err->code ? err->code : EXIT_RUNTIME;
    }
    Snapshot *s = follow(w, isatty(STDERR_FILENO), cfg->n_models);
    workerStop(w);
    snapshotRelease(s);
    s = workerSnapshot(w);   /* the final one, after the worker stopped */
    workerFree(w);

    int status = EXIT_OK, failed = 0, ok = 0, all_input = 1;
    for (int i = 0; i < s->n_models; i++) {
        if (s->models[i].status == MODEL_FAILED) {
            failed++;
            all_input &= s->models[i].error_code == EXIT_INPUT;
        } else if (s->models[i].status == MODEL_DONE) {
            ok++;
        }
    }
    if (interrupted) {
        errorSet(err, EXIT_RUNTIME, "interrupted; no results written");
        status = EXIT_RUNTIME;
    } else if (!ok && failed) {
        /* nothing to write: one clear line, as for any bad input */
        const ModelSnapshot *m = NULL;
        for (int i = 0; i < s->n_models && !m; i++)
            if (s->models[i].status == MODEL_FAILED) m = &s->models[i];
        if (failed == 1) {
            errorSet(err, all_input ? EXIT_INPUT : EXIT_RUNTIME, "%s", m->error ? m->error : "failed");
        } else {
            errorSet(err, all_input ? EXIT_INPUT : EXIT_RUNTIME, "all %d models failed (first: %s)", failed,
                     m->error ? m->error : "failed");
        }
        status = err->code;
    } else if (resultsWrite(s, cfg, out, err)) {
        status = err->code ? err->code : EXIT_RUNTIME;
    } else {
        printTable(s);
        fflush(stdout);
        fprintf(stderr, "results: %s\n", out);
        if (failed) {
            errorSet(err, EXIT_RUNTIME, "%d of %d models failed (listed above); results for the others in %s", failed,
                     s->n_models, out);
            status = EXIT_RUNTIME;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    snapshotRelease(s);
    configFree(cfg);
    return status;
}
