/* ffnscope plan CONFIG [--memory-limit SIZE] [--format table|json]: the
 * memory plan of every checkpoint in CONFIG (README "Memory"), computed from
 * the checkpoints' headers without loading a weight. Activation and
 * statistics files are not planned (they hold no model).
 *
 * Exit: 0 when every model fits; 2 when one cannot capture even one layer
 * under the limit (the plan is printed, and the error line names it), and
 * for usage, config and model errors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/implicit.h"
#include "engine/plan.h"
#include "ffnscope/config.h"
#include "ffnscope/model.h"
#include "util/memsize.h"

#define USAGE "ffnscope plan CONFIG|MODEL... [--memory-limit SIZE] [--format table|json]"

int cliMemoryLimit(const char *cmd, const char *arg, uint64_t *limit, Error *err)
{
    if (!arg || memParseSize(arg, limit))
        return errorSet(err, EXIT_INPUT, "%s: --memory-limit: expected a size such as 4G, 512MiB or a number of bytes",
                        cmd);
    return 0;
}

static void tableRow(const char *name, const ModelInfo *in, const Plan *p)
{
    char st[32], f32[32], acc[32], res[32], peak[32], limit[32];
    memFormatSize(p->weights_stored, st, sizeof st);
    memFormatSize(p->weights_resident, f32, sizeof f32);
    memFormatSize(p->accumulator, acc, sizeof acc);
    memFormatSize(p->passes > 1 ? p->residual : 0, res, sizeof res);
    memFormatSize(p->fits ? p->peak : p->need, peak, sizeof peak);
    memFormatSize(p->limit, limit, sizeof limit);
    printf("%-24s %-5s %6d %6d %10s %10s %10s %11s%s %6d %10s %10s  %s\n", name, in->dtype, p->n_captured * p->n_sites,
           in->ffn_width, st, f32, acc, res, p->residual_on_disk ? "*" : " ", p->passes, peak, limit,
           p->fits ? "ok" : "refused");
}

static json_t *jsonPlan(const char *name, const ModelInfo *in, const Plan *p)
{
    json_t *groups = json_array();
    for (int g = 0; g < p->passes; g++)
        json_array_append_new(groups, json_pack("{s:i,s:i,s:i}", "first", p->groups[g].first, "last",
                                                p->groups[g].last, "captured", p->groups[g].n_captured));
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:I,s:i}", "model", name, "family", in->family, "dtype",
                          in->dtype, "d_model", in->d_model, "n_layers", in->n_layers, "ffn_width", in->ffn_width,
                          "captured_layers", p->n_captured, "sites", p->n_sites, "tokens", (json_int_t)p->tokens,
                          "batch_rows", p->rows);
    json_object_set_new(o, "passes", json_integer(p->passes));
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "fits", json_boolean(p->fits));
#define B(key, v) json_object_set_new(o, key, json_integer((json_int_t)(v)))
    B("peak_bytes", p->fits ? p->peak : p->need);
    B("need_bytes", p->need);
    B("limit_bytes", p->limit);
    B("weights_stored_bytes", p->weights_stored);
    B("weights_layer_f32_bytes", p->weights_layer);
    B("weights_resident_bytes", p->weights_resident);
    B("accumulator_bytes", p->accumulator);
    B("accumulators_bytes", p->accumulators);
    json_object_set_new(o, "accumulators", json_integer(p->n_accumulators));
    B("accumulator_scratch_bytes", p->acc_scratch);
    B("residual_bytes", p->residual);
    B("scratch_bytes", p->scratch);
    B("solve_bytes", p->solve);
    B("base_bytes", p->base);
#undef B
    json_object_set_new(o, "residual_on_disk", json_boolean(p->residual_on_disk));
    json_object_set_new(o, "stream_weights", json_boolean(p->stream_weights));
    return o;
}

int cmdPlan(int argc, char **argv, Error *err)
{
    const char *format = "table";
    char *pos[64];
    int n_pos = 0;
    ImplicitArgs ia = {0};
    uint64_t limit = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: " USAGE "\n"
                   "The memory plan of every checkpoint in CONFIG, read from the headers: weights as stored\n"
                   "and as float32, one accumulator (8 D^2 bytes), the hidden states kept between passes,\n"
                   "the passes over the corpus and the expected peak, against the limit (default: 80%% of\n"
                   "the memory available). SIZE: bytes, or K, M, G (powers of 1024, KiB/MiB/GiB too).\n");
            return EXIT_OK;
        }
        int taken = implicitOption(argc, argv, &i, &ia, err);
        if (taken < 0) return EXIT_INPUT;
        if (taken) continue;
        if (!strcmp(argv[i], "--memory-limit") || !strncmp(argv[i], "--memory-limit=", 15)) {
            const char *v = argv[i][14] == '=' ? argv[i] + 15 : ++i < argc ? argv[i] : NULL;
            if (cliMemoryLimit("plan", v, &limit, err)) return EXIT_INPUT;
        } else if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9)) {
            format = argv[i][8] == '=' ? argv[i] + 9 : ++i < argc ? argv[i] : "";
            if (strcmp(format, "table") && strcmp(format, "json"))
                return errorSet(err, EXIT_INPUT, "plan: --format must be table or json (usage: " USAGE ")"), EXIT_INPUT;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return errorSet(err, EXIT_INPUT, "plan: unknown option '%s' (usage: " USAGE ")", argv[i]), EXIT_INPUT;
        } else if (n_pos < (int)(sizeof pos / sizeof pos[0])) {
            pos[n_pos++] = argv[i];
        } else {
            return errorSet(err, EXIT_INPUT, "usage: " USAGE), EXIT_INPUT;
        }
    }
    if (!n_pos) return errorSet(err, EXIT_INPUT, "usage: " USAGE), EXIT_INPUT;
    Config *cfg;
    if (runLoadConfig(n_pos, pos, &ia, 0, &cfg, err)) return err->code ? err->code : EXIT_INPUT;
    PlanEnv env;
    planEnvDefault(cfg, limit, 0, &env);
    int json = !strcmp(format, "json"), status = EXIT_OK, refused = 0, on_disk = 0;
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-24s %-5s %6s %6s %10s %10s %10s %12s %6s %10s %10s  %s\n", "model", "dtype", "layers", "width",
               "stored", "float32", "accumulator", "hidden", "passes", "peak", "limit", "status");
    for (int i = 0; i < cfg->n_models && status == EXIT_OK; i++) {
        const ModelEntry *e = &cfg->models[i];
        if (e->is_acts) continue;
        /* the plan reads no weight: the checks of tensor data are the load's */
        ModelOptions opt = {.format = e->format, .family = e->family, .tokenizer = e->tokenizer, .info_only = 1,
                            .header_only = 1};
        Model *m;
        if (modelOpen(e->path, &opt, &m, err)) {
            status = err->code ? err->code : EXIT_INPUT;
            break;
        }
        Plan p;
        if (planComputeModel(m, cfg, &env, &p, err)) {
            modelFree(m);
            status = EXIT_RUNTIME;
            break;
        }
        if (json) json_array_append_new(arr, jsonPlan(e->name, modelInfo(m), &p));
        else tableRow(e->name, modelInfo(m), &p);
        on_disk |= p.passes > 1 && p.residual_on_disk;
        if (!p.fits && !refused++) planRefuse(&p, e->name, err);
        planFree(&p);
        modelFree(m);
    }
    if (status == EXIT_OK && json) {
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) puts(text);
        free(text);
    } else if (status == EXIT_OK && on_disk) {
        printf("* the hidden states do not fit beside one layer: a temporary file beside the results holds them\n");
    }
    json_decref(arr);
    fflush(stdout);
    if (status == EXIT_OK && refused) {
        if (refused > 1) {
            char first[sizeof err->msg];
            snprintf(first, sizeof first, "%s", err->msg);
            errorSet(err, EXIT_INPUT, "%d models cannot fit one layer under the limit (first: %s)", refused, first);
        }
        status = EXIT_INPUT;
    }
    configFree(cfg);
    return status;
}
