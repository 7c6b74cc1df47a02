/* Config: defaults, every kind of bad config with its exact line:column
 * message, glob expansion and ordering. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ffnscope/config.h"
#include "ffnscope/site.h"
#include "testutil.h"

static char dir[256];

static void writeFile(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    cr_assert(fp, "cannot write %s", p);
    fputs(text, fp);
    fclose(fp);
}

static void makeDir(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert(mkdir(p, 0755) == 0);
}

static void setup(void)
{
    cr_assert(testTempDir(dir, sizeof dir) == 0);
    writeFile("corpus.txt", "It was a truth universally acknowledged.\n");
    writeFile("a.npy", "not really");
    writeFile("b.safetensors", "not really");
    makeDir("gpt2-w256");
    writeFile("gpt2-w256/config.json", "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_inner\": 256}");
    makeDir("gpt2-w64");
    writeFile("gpt2-w64/config.json", "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_inner\": 64}");
    makeDir("gpt2-w1024");
    writeFile("gpt2-w1024/config.json", "{\"model_type\": \"gpt2\", \"n_embd\": 256, \"n_inner\": null}");
    makeDir("gpt2-wx");   /* no config.json: width unknown, sorted after the known ones */
    writeFile("x-w16.npy", "");
    writeFile("x-w8.npy", "");
    writeFile("x-w128.npy", "");
}

static void teardown(void) { testRemoveTree(dir); }

TestSuite(config, .init = setup, .fini = teardown);

static Config *load(const char *text, Error *err)
{
    writeFile("c.yaml", text);
    char p[512];
    snprintf(p, sizeof p, "%s/c.yaml", dir);
    Config *cfg = NULL;
    memset(err, 0, sizeof *err);
    int rc = configLoad(p, &cfg, err);
    cr_assert((rc == 0) == (cfg != NULL));
    return cfg;
}

Test(config, defaults)
{
    Error err;
    Config *cfg = load("version: 1\n"
                       "corpus:\n"
                       "  path: corpus.txt\n"
                       "models:\n"
                       "  - path: gpt2-w256\n"
                       "  - path: a.npy\n"
                       "  - name: acts2\n"
                       "    path: b.safetensors\n"
                       "    family: mine\n",
                       &err);
    cr_assert(cfg, "%s", err.msg);
    char want[600];
    cr_assert_eq(cfg->version, 1);
    cr_assert(cfg->has_corpus);
    snprintf(want, sizeof want, "%s/corpus.txt", dir);
    cr_assert_str_eq(cfg->corpus.path, want);
    cr_assert_eq(cfg->corpus.tokens, 65536);
    cr_assert_eq(cfg->corpus.seq_len, 128);
    cr_assert_eq(cfg->corpus.batch, 16);
    cr_assert_eq(cfg->corpus.add_bos, 0);
    cr_assert_eq(cfg->sites, SITE_BIT(SITE_POST));
    cr_assert(cfg->all_layers);
    cr_assert(configWantsLayer(cfg, 0) && configWantsLayer(cfg, 47));
    cr_assert_eq(cfg->refresh_tokens, 8192);
    cr_assert_float_eq(cfg->concentration_k, 0.1, 1e-15);
    cr_assert_str_eq(cfg->theme, "default");
    cr_assert_str_eq(cfg->output_dir, "results/c");
    cr_assert_str_eq(cfg->export_dir, "exports");
    cr_assert_eq(cfg->n_models, 3);
    cr_assert_str_eq(cfg->models[0].name, "gpt2-w256");
    snprintf(want, sizeof want, "%s/gpt2-w256", dir);
    cr_assert_str_eq(cfg->models[0].path, want);
    cr_assert_not(cfg->models[0].is_acts);
    cr_assert_null(cfg->models[0].format);
    cr_assert_str_eq(cfg->models[1].name, "a");
    cr_assert(cfg->models[1].is_acts);
    cr_assert_str_eq(cfg->models[2].name, "acts2");
    cr_assert_str_eq(cfg->models[2].family, "mine");
    cr_assert(cfg->models[2].is_acts);
    cr_assert_eq(cfg->models[2].line, 7);
    cr_assert_eq(cfg->models[2].col, 5);
    configFree(cfg);
}

Test(config, every_key)
{
    Error err;
    Config *cfg = load("version: 1\n"
                       "corpus: {path: corpus.txt, tokens: 4096, seq_len: 64, batch: 4, add_bos: true}\n"
                       "capture:\n"
                       "  sites: [pre, post]\n"
                       "  layers: [5, \"1-2\", 1]\n"
                       "  refresh_tokens: 512\n"
                       "metrics: {concentration_k: 32}\n"
                       "ui: {theme: light}\n"
                       "output: {dir: out/x, export_dir: /tmp/exp}\n"
                       "models:\n"
                       "  - {path: gpt2-w64, format: hf, family: gpt2, tokenizer: gpt2-w64/config.json}\n",
                       &err);
    cr_assert(cfg, "%s", err.msg);
    cr_assert_eq(cfg->corpus.tokens, 4096);
    cr_assert_eq(cfg->corpus.seq_len, 64);
    cr_assert_eq(cfg->corpus.batch, 4);
    cr_assert_eq(cfg->corpus.add_bos, 1);
    cr_assert_eq(cfg->sites, SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE));
    cr_assert_not(cfg->all_layers);
    cr_assert_eq(cfg->n_layers, 3);
    cr_assert_eq(cfg->layers[0], 1);
    cr_assert_eq(cfg->layers[1], 2);
    cr_assert_eq(cfg->layers[2], 5);
    cr_assert(configWantsLayer(cfg, 2) && !configWantsLayer(cfg, 3));
    cr_assert_eq(cfg->refresh_tokens, 512);
    cr_assert_float_eq(cfg->concentration_k, 32.0, 0);
    cr_assert_str_eq(cfg->theme, "light");
    cr_assert_str_eq(cfg->output_dir, "out/x");   /* outputs: relative to the working directory */
    cr_assert_str_eq(cfg->export_dir, "/tmp/exp");
    cr_assert_str_eq(cfg->models[0].format, "hf");
    cr_assert_str_eq(cfg->models[0].family, "gpt2");
    char want[600];
    snprintf(want, sizeof want, "%s/gpt2-w64/config.json", dir);
    cr_assert_str_eq(cfg->models[0].tokenizer, want);
    configFree(cfg);
}

Test(config, layer_range_string)
{
    Error err;
    Config *cfg = load("version: 1\ncapture:\n  layers: \"0-3\"\nmodels:\n  - path: a.npy\n", &err);
    cr_assert(cfg, "%s", err.msg);
    cr_assert_eq(cfg->n_layers, 4);
    cr_assert_eq(cfg->layers[3], 3);
    cr_assert_not(cfg->has_corpus);
    configFree(cfg);
}

Test(config, glob_sorted_by_width_then_name)
{
    Error err;
    Config *cfg = load("version: 1\ncorpus: {path: corpus.txt}\nmodels:\n"
                       "  - glob: gpt2-w*\n    family: gpt2\n"
                       "  - glob: \"a*.npy\"\n",
                       &err);
    cr_assert(cfg, "%s", err.msg);
    cr_assert_eq(cfg->n_models, 5);
    cr_assert_str_eq(cfg->models[0].name, "gpt2-w64");
    cr_assert_str_eq(cfg->models[1].name, "gpt2-w256");
    cr_assert_str_eq(cfg->models[2].name, "gpt2-w1024");   /* n_inner null: 4 * n_embd */
    cr_assert_str_eq(cfg->models[3].name, "gpt2-wx");
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(cfg->models[i].family, "gpt2");
        cr_assert_eq(cfg->models[i].line, 4);
    }
    cr_assert_str_eq(cfg->models[4].name, "a");
    cr_assert(cfg->models[4].is_acts);
    configFree(cfg);
    /* no width to read: numbers in names sort as numbers */
    cfg = load("version: 1\nmodels:\n  - glob: x-w*.npy\n", &err);
    cr_assert(cfg, "%s", err.msg);
    cr_assert_eq(cfg->n_models, 3);
    cr_assert_str_eq(cfg->models[0].name, "x-w8");
    cr_assert_str_eq(cfg->models[1].name, "x-w16");
    cr_assert_str_eq(cfg->models[2].name, "x-w128");
    configFree(cfg);
}

typedef struct Bad {
    const char *yaml;
    const char *msg;   /* after "DIR/c.yaml:" */
} Bad;

static const Bad bads[] = {
    {"version: 1\ncorpus:\n  path: corpus.txt\n  tokns: 5\nmodels: [{path: a.npy}]\n",
     "4:3: unknown key 'tokns' in corpus"},
    {"version: 1\ncorpus:\n  path: corpus.txt\n  tokens: -5\nmodels: [{path: a.npy}]\n",
     "4:11: corpus.tokens: expected a positive integer, got -5"},
    {"version: 1\ncorpus:\n  path: corpus.txt\n  seq_len: 0\nmodels: [{path: a.npy}]\n",
     "4:12: corpus.seq_len: expected a positive integer, got 0"},
    {"version: 1\ncorpus:\n  path: corpus.txt\n  batch: \"16\"\nmodels: [{path: a.npy}]\n",
     "4:10: corpus.batch: expected a positive integer, got '16'"},
    {"version: 1\ncorpus:\n  path: corpus.txt\n  add_bos: maybe\nmodels: [{path: a.npy}]\n",
     "4:12: corpus.add_bos: expected true or false, got 'maybe'"},
    {"version: 1\ncorpus:\n  path: nothere.txt\nmodels: [{path: a.npy}]\n",
     "3:9: corpus.path: DIR/nothere.txt: No such file or directory"},
    {"version: 1\ncorpus:\n  tokens: 5\nmodels: [{path: a.npy}]\n", "3:3: corpus: missing key 'path'"},
    {"version: 1\ncapture:\n  sites: [post, mid]\nmodels: [{path: a.npy}]\n",
     "3:17: capture.sites: unknown site 'mid' (expected post or pre)"},
    {"version: 1\ncapture:\n  sites: []\nmodels: [{path: a.npy}]\n", "3:10: capture.sites: the list is empty"},
    {"version: 1\ncapture:\n  layers: \"3-1\"\nmodels: [{path: a.npy}]\n",
     "3:11: capture.layers: bad layer range '3-1'"},
    {"version: 1\ncapture:\n  layers: [0, -2]\nmodels: [{path: a.npy}]\n",
     "3:15: capture.layers: layer -2 is negative"},
    {"version: 1\ncapture:\n  layers: some\nmodels: [{path: a.npy}]\n",
     "3:11: capture.layers: expected all, a layer number or a range \"A-B\", got 'some'"},
    {"version: 1\ncapture:\n  refresh_tokens: 0\nmodels: [{path: a.npy}]\n",
     "3:19: capture.refresh_tokens: expected a positive integer, got 0"},
    {"version: 1\nmetrics:\n  concentration_k: 1.5\nmodels: [{path: a.npy}]\n",
     "3:20: metrics.concentration_k: a count (>= 1) must be a whole number, got 1.5"},
    {"version: 1\nmetrics:\n  concentration_k: -0.1\nmodels: [{path: a.npy}]\n",
     "3:20: metrics.concentration_k: must be a fraction in (0, 1) or a count >= 1, got -0.1"},
    {"version: 1\nversion: 1\nmodels: [{path: a.npy}]\n", "2:1: duplicate key 'version' in config (first at line 1)"},
    {"version: 1\nmodels:\n  - path: a.npy\n    name: x\n    name: y\n",
     "5:5: duplicate key 'name' in models[0] (first at line 4)"},
    {"version: 1\nmodels:\n\t- path: a.npy\n",
     "3:1: YAML syntax error: while scanning for the next token found character that cannot start any token (tabs are not allowed for indentation; use spaces)"},
    {"version: 1\nmodels: [{path: a.npy}\n", "3:1: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']'"},
    {"models: [{path: a.npy}]\n", "1:1: missing key 'version' (add 'version: 1')"},
    {"version: 2\nmodels: [{path: a.npy}]\n", "1:10: version: unsupported version 2 (expected 1)"},
    {"version: one\nmodels: [{path: a.npy}]\n", "1:10: version: expected 1, got 'one'"},
    {"version: 1\n", "1:1: missing key 'models'"},
    {"version: 1\nmodels: []\n", "2:9: models: the list is empty"},
    {"version: 1\nmodels: a.npy\n", "2:9: models: expected a list, got 'a.npy'"},
    {"version: 1\nmodels:\n  - a.npy\n", "3:5: models[0]: expected a mapping with 'path' or 'glob', got 'a.npy'"},
    {"version: 1\nmodels:\n  - name: x\n", "3:5: models[0]: needs 'path' or 'glob'"},
    {"version: 1\nmodels:\n  - path: gone.npy\n", "3:11: models[0].path: DIR/gone.npy: No such file or directory"},
    {"version: 1\nmodels:\n  - path: a.npy\n  - glob: \"*.gguf\"\n", "4:11: models[1].glob: 'DIR/*.gguf' matches nothing"},
    {"version: 1\nmodels:\n  - path: a.npy\n    format: onnx\n",
     "4:13: models[0].format: unknown format 'onnx' (expected hf, gguf, llama2c, llmc, npy or safetensors)"},
    {"version: 1\ncorpus: {path: corpus.txt}\nmodels:\n  - path: gpt2-w64\n    family: bert\n",
     "5:13: models[0].family: unknown family 'bert' (expected one of gpt2, llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gpt_neox, phi3, olmo2, ngpt, mixtral, qwen2_moe, qwen3_moe, olmoe)"},
    {"version: 1\nmodels:\n  - path: gpt2-w64\n",
     "3:5: model 'gpt2-w64' is not an activation file and needs a corpus (add corpus.path)"},
    {"version: 1\nmodels:\n  - path: a.npy\n  - path: a.npy\n",
     "4:5: models[1]: model name 'a' is used twice (also by the entry at line 3); set 'name'"},
    {"version: 1\nmodels:\n  - path: a.npy\n    tokenizer: tok.json\n",
     "4:16: models[0].tokenizer: DIR/tok.json: No such file or directory"},
    {"version: 1\nmodels:\n  - path: a.npy\n    name: a/b\n",
     "4:11: models[0].name: bad model name 'a/b' (no '/' or control characters)"},
    {"version: 1\nui:\n  theme: [a]\nmodels: [{path: a.npy}]\n", "3:10: ui.theme: expected a string, got a list"},
    {"version: 1\noutput:\n  dri: x\nmodels: [{path: a.npy}]\n", "3:3: unknown key 'dri' in output"},
    {"version: 1\ncorpus: 5\nmodels: [{path: a.npy}]\n", "2:9: corpus: expected a mapping, got '5'"},
    {"- 1\n- 2\n", "1:1: config: expected a mapping of sections, got a list"},
    {"", "1:1: the config is empty (it needs at least 'version: 1' and 'models')"},
    {"version: 1\nmodels: [{path: a.npy}]\n---\nversion: 1\n", "3:1: a config holds one YAML document, found a second one"},
};

Test(config, bad_configs_name_line_and_column)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        Error err;
        Config *cfg = load(bads[i].yaml, &err);
        cr_assert_null(cfg, "case %zu loaded", i);
        cr_assert_eq(err.code, EXIT_INPUT, "case %zu", i);
        /* DIR in the expected message stands for the temp folder */
        char want[2048], tmpl[1024];
        snprintf(tmpl, sizeof tmpl, "%%s/c.yaml:%s", bads[i].msg);
        char *d = strstr(tmpl, "DIR");
        if (d) {
            char rest[1024];
            snprintf(rest, sizeof rest, "%s", d + 3);
            *d = '\0';
            snprintf(want, sizeof want, tmpl, dir);
            strncat(want, dir, sizeof want - strlen(want) - 1);
            strncat(want, rest, sizeof want - strlen(want) - 1);
        } else {
            snprintf(want, sizeof want, tmpl, dir);
        }
        cr_assert_str_eq(err.msg, want, "case %zu:\n got: %s\nwant: %s", i, err.msg, want);
    }
}

Test(config, missing_file)
{
    Config *cfg = NULL;
    Error err = {0};
    char p[512];
    snprintf(p, sizeof p, "%s/none.yaml", dir);
    cr_assert_eq(configLoad(p, &cfg, &err), -1);
    cr_assert_eq(err.code, EXIT_INPUT);
    char want[600];
    snprintf(want, sizeof want, "%s: No such file or directory", p);
    cr_assert_str_eq(err.msg, want);
}
