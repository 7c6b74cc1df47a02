/* The memory plan (engine/plan.c) and the size syntax (util/memsize.c):
 * sizes against hand-computed values, the plan's parts against the
 * formulas README "Memory" states, and the schedule's invariants: one pass
 * when everything fits, otherwise contiguous groups that end on captured
 * layers, cover every one once, and keep the peak under the limit; a limit
 * under one layer's need is refused, naming the model. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/plan.h"
#include "ffnscope/covacc.h"
#include "ffnscope/site.h"
#include "util/memsize.h"

Test(memsize, parses_units_as_powers_of_1024)
{
    uint64_t b;
    cr_assert(memParseSize("123", &b) == 0 && b == 123);
    cr_assert(memParseSize("512K", &b) == 0 && b == 512ull * 1024);
    cr_assert(memParseSize("320M", &b) == 0 && b == 320ull << 20);
    cr_assert(memParseSize("320MiB", &b) == 0 && b == 320ull << 20);
    cr_assert(memParseSize("320mb", &b) == 0 && b == 320ull << 20);
    cr_assert(memParseSize("1.5G", &b) == 0 && b == 3ull << 29);
    cr_assert(memParseSize("2GiB", &b) == 0 && b == 2ull << 30);
    cr_assert(memParseSize("1T", &b) == 0 && b == 1ull << 40);
    cr_assert(memParseSize("64 B", &b) == 0 && b == 64);
    const char *bad[] = {"", "M", "-1G", "0", "12X", "1GG", "1e30", "nan", "4 GiBs", "0.1", NULL};
    for (int i = 0; bad[i]; i++) cr_assert(memParseSize(bad[i], &b) != 0, "'%s' accepted", bad[i]);
}

Test(memsize, formats_and_reads_the_machine)
{
    char buf[32];
    memFormatSize(512, buf, sizeof buf);
    cr_assert_str_eq(buf, "512 B");
    memFormatSize(320ull << 20, buf, sizeof buf);
    cr_assert_str_eq(buf, "320 MiB");
    memFormatSize(3ull << 29, buf, sizeof buf);
    cr_assert_str_eq(buf, "1.50 GiB");
    /* Linux always has /proc/meminfo; the default is 80% of it */
    uint64_t avail = memAvailable();
    cr_assert(avail > 0);
    uint64_t def = memDefaultLimit();
    cr_assert(def <= avail && def >= avail / 5 * 4 - 1);
    uint64_t now, peak;
    memResident(&now, &peak);
    cr_assert(now > 0 && peak >= now);
}

/* A llama-shaped model: d 64, D 2896, 24 layers (1.6 GB of accumulators). */
static ModelInfo llama24(void)
{
    ModelInfo in;
    memset(&in, 0, sizeof in);
    strcpy(in.family, "llama");
    strcpy(in.dtype, "BF16");
    in.d_model = 64;
    in.n_layers = 24;
    in.n_heads = 4;
    in.n_kv_heads = 4;
    in.head_dim = 16;
    in.ffn_width = 2896;
    in.vocab_size = 1024;
    in.context = 128;
    in.layer_params = 4 * 64 * 64 + 3 * 64 * 2896 + 2 * 64;
    in.global_params = 1024 * 64 + 64;
    return in;
}

static Config config(unsigned sites)
{
    Config c;
    memset(&c, 0, sizeof c);
    c.corpus.tokens = 16384;
    c.corpus.seq_len = 256;   /* capped at the context, 128 */
    c.corpus.batch = 8;
    c.sites = sites;
    c.all_layers = 1;
    return c;
}

static PlanEnv env(uint64_t limit)
{
    PlanEnv e = {.limit = limit, .threads = 2, .live = 0, .corpus_bytes = 1 << 20};
    return e;
}

Test(plan, parts_follow_the_formulas)
{
    ModelInfo in = llama24();
    Config c = config(SITE_BIT(SITE_POST));
    PlanEnv e = env(1ull << 40);
    Plan p;
    Error err = {0};
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    cr_assert_eq(p.n_captured, 24);
    cr_assert_eq(p.n_sites, 1);
    cr_assert_eq(p.tokens, 16384);      /* 128 sequences of 128 */
    cr_assert_eq(p.rows, 8 * 128);
    cr_assert_eq(p.accumulator, 8ull * 2896 * 2896 + 8 * 2896);
    cr_assert_eq(p.residual, 16384ull * 64 * 4);
    int64_t params = in.global_params + 24 * in.layer_params;
    cr_assert_eq(p.weights_stored, (uint64_t)params * 2);   /* BF16 */
    cr_assert_eq(p.weights_resident, (uint64_t)params * 4); /* widened to float32 */
    cr_assert_eq(p.weights_layer, (uint64_t)in.layer_params * 4);
    /* everything fits: one pass, all 24 accumulators at once */
    cr_assert(p.fits);
    cr_assert_eq(p.passes, 1);
    cr_assert_eq(p.groups[0].first, 0);
    cr_assert_eq(p.groups[0].last, 23);
    cr_assert(p.peak > 24 * p.accumulator);
    cr_assert_eq(p.need, p.peak - 23 * p.accumulator);
    planFree(&p);
    cr_assert_float_eq(planDtypeBytes("Q8_0"), 34.0 / 32, 1e-12);
    cr_assert_float_eq(planDtypeBytes("F16"), 2.0, 1e-12);
}

/* The schedule's invariants for one limit. */
static void checkGroups(const Plan *p, const Config *c, int n_layers)
{
    int covered = 0, expect_first = 0, most = 0;
    for (int g = 0; g < p->passes; g++) {
        const PlanGroup *gr = &p->groups[g];
        cr_assert_eq(gr->first, expect_first, "group %d starts at %d", g, gr->first);
        cr_assert(gr->last >= gr->first && gr->last < n_layers);
        cr_assert(configWantsLayer(c, gr->last), "group %d ends on an uncaptured layer", g);
        int n = 0;
        for (int l = gr->first; l <= gr->last; l++) n += configWantsLayer(c, l);
        cr_assert_eq(n, gr->n_captured);
        covered += n;
        if (n > most) most = n;
        expect_first = gr->last + 1;
    }
    cr_assert_eq(covered, p->n_captured);
    cr_assert(p->peak <= p->limit);
    uint64_t layer = (uint64_t)p->n_sites * p->accumulator;
    /* the peak is the fixed part plus the largest group's accumulators */
    cr_assert_eq(p->peak, p->need - layer + (p->residual_on_disk ? 0 : p->residual) + most * layer);
    /* one more layer per pass would not have fit: the passes are as few as the limit allows */
    cr_assert(p->need - layer + (p->residual_on_disk ? 0 : p->residual) +
                  (uint64_t)((p->n_captured + p->passes - 2) / (p->passes - 1)) * layer >
              p->limit);
}

Test(plan, groups_under_a_limit)
{
    ModelInfo in = llama24();
    Config c = config(SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE));
    Plan p;
    Error err = {0};
    PlanEnv e = env(1ull << 40);
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    uint64_t need = p.need, layer = 2 * p.accumulator, residual = p.residual;
    planFree(&p);
    /* room for exactly 5 layers beside the hidden states: 24 layers in 5 passes of 5, 5, 5, 5, 4 */
    e = env(need + residual + 4 * layer + 1000);
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    cr_assert_eq(p.passes, 5);
    cr_assert(!p.residual_on_disk);
    checkGroups(&p, &c, 24);
    cr_assert_eq(p.groups[1].first, 5);
    cr_assert_eq(p.groups[1].last, 9);
    planFree(&p);
    /* room for one layer but not for the hidden states beside it: they go to a file */
    e = env(need + residual / 2);
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    cr_assert(p.fits);
    cr_assert(p.residual_on_disk);
    cr_assert_eq(p.passes, 24);
    checkGroups(&p, &c, 24);
    planFree(&p);
    /* below one layer: refused, the message names the model and the limit */
    e = env(need - 1);
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    cr_assert(!p.fits);
    cr_assert_eq(p.passes, 0);
    cr_assert(planRefuse(&p, "tiny-llama", &err) != 0);
    cr_assert_eq(err.code, EXIT_INPUT);
    cr_assert(strstr(err.msg, "tiny-llama: needs at least") == err.msg, "%s", err.msg);
    cr_assert(strstr(err.msg, "the memory limit is"), "%s", err.msg);
    planFree(&p);
}

Test(plan, selected_layers_group_on_captured_ones)
{
    ModelInfo in = llama24();
    Config c = config(SITE_BIT(SITE_POST));
    int layers[] = {1, 5, 6, 11, 17, 20};
    c.all_layers = 0;
    c.layers = layers;
    c.n_layers = 6;
    Plan p;
    Error err = {0};
    PlanEnv e = env(1ull << 40);
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    uint64_t need = p.need, residual = p.residual;
    planFree(&p);
    e = env(need + residual + p.accumulator + 10);   /* two layers per pass */
    cr_assert(planCompute(&in, NULL, &c, &e, &p, &err) == 0);
    cr_assert_eq(p.passes, 3);
    checkGroups(&p, &c, 24);
    cr_assert_eq(p.groups[0].last, 5);
    cr_assert_eq(p.groups[1].first, 6);
    cr_assert_eq(p.groups[1].last, 11);
    cr_assert_eq(p.groups[2].last, 20);
    planFree(&p);
}

/* A mixture-of-experts model: layer 0 and 2 dense (144), layer 1 routed (8 experts of 40),
 * layer 3 routed (6 experts of 48 and a shared expert of 128); the post site. Counted by hand:
 *   dense 144:  8 * 144^2 + 8 * 144                                   = 167040
 *   layer 1:    8 * (8 * 40^2 + 8 * 40) + 8 experts * 8 vectors * 40 * 8 = 104960 + 20480 = 125440
 *   layer 3:    6 * (8 * 48^2 + 8 * 48) + 6 * 8 * 48 * 8 + 8 * 128^2 + 8 * 128
 *                                                     = 112896 + 18432 + 132096 = 263424
 * 17 accumulators, 722944 bytes, one batch block per distinct width (144, 40, 48, 128). */
Test(plan, experts_count_one_accumulator_each)
{
    ModelInfo in = llama24();
    in.n_layers = 4;
    in.ffn_width = 144;
    LayerFfn ffn[4] = {{.width = 144},
                       {.width = 144, .n_experts = 8, .top_k = 2, .expert_width = 40},
                       {.width = 144},
                       {.width = 144, .n_experts = 6, .top_k = 2, .expert_width = 48, .shared_width = 128}};
    Config c = config(SITE_BIT(SITE_POST));
    c.corpus.tokens = 128;   /* hidden states of 32 KiB: smaller than the accumulators */
    Plan p;
    Error err = {0};
    PlanEnv e = env(1ull << 40);
    cr_assert(planCompute(&in, ffn, &c, &e, &p, &err) == 0);
    cr_assert_eq(p.residual, 128ull * 64 * 4);
    cr_assert_eq(p.n_accumulators, 17);
    cr_assert_eq(p.accumulators, 722944ull);
    uint64_t scratch = 0;
    int widths[] = {144, 40, 48, 128};
    for (int i = 0; i < 4; i++) {
        uint64_t w = (uint64_t)widths[i], rows = (uint64_t)covaccBatchRows(widths[i]);
        scratch += (rows + 1) * w * 8 + 16 * w + rows;
    }
    cr_assert_eq(p.acc_scratch, scratch);
    cr_assert_eq(p.passes, 1);
    uint64_t fixed = p.need - 263424;   /* need: the fixed part and the largest layer (3) */
    cr_assert_eq(p.peak, fixed + 722944);
    uint64_t residual = p.residual;
    planFree(&p);
    /* room for 300000 bytes of accumulators beside the hidden states: greedy gives {0, 1}, {2},
     * {3}; evening out cannot do better than 292480 (layers 0 and 1) in three passes */
    e = env(fixed + residual + 300000);
    cr_assert(planCompute(&in, ffn, &c, &e, &p, &err) == 0);
    cr_assert_eq(p.passes, 3);
    cr_assert(!p.residual_on_disk);
    cr_assert_eq(p.groups[0].first, 0);
    cr_assert_eq(p.groups[0].last, 1);
    cr_assert_eq(p.groups[0].n_captured, 2);
    cr_assert_eq(p.groups[1].first, 2);
    cr_assert_eq(p.groups[1].last, 2);
    cr_assert_eq(p.groups[2].first, 3);
    cr_assert_eq(p.groups[2].last, 3);
    cr_assert_eq(p.peak, fixed + residual + 292480);
    planFree(&p);
    /* under the largest layer (3): refused */
    e = env(fixed + 263423);
    cr_assert(planCompute(&in, ffn, &c, &e, &p, &err) == 0);
    cr_assert(!p.fits);
    planFree(&p);
}
