#include "model/hf.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/gpt2.h"
#include "model/llama.h"
#include "model/ngpt.h"
#include "util/fileio.h"

/* ---- config.json ---- */

typedef struct Cfg {
    json_t *root;
    const char *path;
} Cfg;

/* 1 when key is present and not null. */
static int cfgHas(const Cfg *c, const char *key)
{
    json_t *v = json_object_get(c->root, key);
    return v && !json_is_null(v);
}

/* A positive integer; dflt < 0 means the key is required. */
static int cfgInt(const Cfg *c, const char *key, int dflt, int *out, Error *err)
{
    json_t *v = json_object_get(c->root, key);
    if (!v || json_is_null(v)) {
        if (dflt < 0) return errorSet(err, EXIT_INPUT, "%s: key '%s' is missing", c->path, key);
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 30))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be a positive integer", c->path, key);
    *out = (int)json_integer_value(v);
    return 0;
}

/* A positive finite number (integers accepted). */
static int cfgReal(const Cfg *c, const char *key, double dflt, double *out, Error *err)
{
    json_t *v = json_object_get(c->root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || !(json_number_value(v) > 0) || !isfinite(json_number_value(v)))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be a positive number", c->path, key);
    *out = json_number_value(v);
    return 0;
}

static int cfgBool(const Cfg *c, const char *key, int dflt, int *out, Error *err)
{
    json_t *v = json_object_get(c->root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be true or false", c->path, key);
    *out = json_is_true(v);
    return 0;
}

/* The string value, dflt when absent or null, NULL (with err) when not a string. */
static const char *cfgStr(const Cfg *c, const char *key, const char *dflt, Error *err)
{
    json_t *v = json_object_get(c->root, key);
    if (!v || json_is_null(v)) return dflt;
    if (!json_is_string(v)) {
        errorSet(err, EXIT_INPUT, "%s: key '%s' must be a string", c->path, key);
        return NULL;
    }
    return json_string_value(v);
}

static int gpt2Config(const Cfg *c, Gpt2Config *g, Error *err)
{
    memset(g, 0, sizeof *g);
    double eps = 0;
    if (cfgInt(c, "n_embd", -1, &g->d, err) || cfgInt(c, "n_layer", -1, &g->n_layers, err) ||
        cfgInt(c, "n_head", -1, &g->n_heads, err) || cfgInt(c, "vocab_size", -1, &g->vocab, err))
        return -1;
    /* n_ctx is the older name of n_positions. */
    const char *ctx_key = !cfgHas(c, "n_positions") && cfgHas(c, "n_ctx") ? "n_ctx" : "n_positions";
    if (cfgInt(c, ctx_key, -1, &g->context, err)) return -1;
    if (cfgInt(c, "n_inner", 4 * g->d, &g->ffn, err) ||
        cfgReal(c, "layer_norm_epsilon", 1e-5, &eps, err) ||
        cfgBool(c, "scale_attn_weights", 1, &g->scale_attn, err) ||
        cfgBool(c, "scale_attn_by_inverse_layer_idx", 0, &g->scale_by_layer, err))
        return -1;
    g->eps = (float)eps;
    const char *act = cfgStr(c, "activation_function", "gelu_new", err);
    if (!act) return -1;
    if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast"))
        g->act = GPT2_GELU_TANH;
    else if (!strcmp(act, "gelu")) g->act = GPT2_GELU_ERF;
    else if (!strcmp(act, "relu")) g->act = GPT2_RELU;
    else if (!strcmp(act, "silu") || !strcmp(act, "swish")) g->act = GPT2_SILU;
    else
        return errorSet(err, EXIT_INPUT, "%s: activation_function '%s' is not supported", c->path,
                        act);
    return 0;
}

static int llamaConfig(const Cfg *c, const char *type, LlamaConfig *m, Error *err)
{
    memset(m, 0, sizeof *m);
    double eps = 0;
    if (cfgInt(c, "hidden_size", -1, &m->d, err) ||
        cfgInt(c, "intermediate_size", -1, &m->ffn, err) ||
        cfgInt(c, "num_hidden_layers", -1, &m->n_layers, err) ||
        cfgInt(c, "num_attention_heads", -1, &m->n_heads, err) ||
        cfgInt(c, "num_key_value_heads", m->n_heads, &m->n_kv_heads, err) ||
        cfgInt(c, "vocab_size", -1, &m->vocab, err) ||
        cfgInt(c, "max_position_embeddings", -1, &m->context, err) ||
        cfgReal(c, "rms_norm_eps", 1e-6, &eps, err) ||
        cfgReal(c, "rope_theta", 10000.0, &m->rope_theta, err) ||
        cfgBool(c, "tie_word_embeddings", 0, &m->tied, err))
        return -1;
    m->eps = (float)eps;
    if (m->d % m->n_heads && !cfgHas(c, "head_dim"))
        return errorSet(err, EXIT_INPUT, "%s: hidden_size %d is not divisible by num_attention_heads %d",
                        c->path, m->d, m->n_heads);
    if (cfgInt(c, "head_dim", m->d / m->n_heads ? m->d / m->n_heads : 1, &m->head_dim, err)) return -1;
    const char *act = cfgStr(c, "hidden_act", "silu", err);
    if (!act) return -1;
    if (strcmp(act, "silu") && strcmp(act, "swish"))
        return errorSet(err, EXIT_INPUT, "%s: hidden_act '%s' is not supported (silu only)", c->path, act);
    if (cfgHas(c, "rope_scaling"))
        return errorSet(err, EXIT_INPUT, "%s: rope_scaling is not supported", c->path);
    int mlp_bias = 0, attn_bias = 0;
    if (cfgBool(c, "mlp_bias", 0, &mlp_bias, err) || cfgBool(c, "attention_bias", 0, &attn_bias, err))
        return -1;
    if (mlp_bias) return errorSet(err, EXIT_INPUT, "%s: mlp_bias is not supported", c->path);
    m->qkv_bias = attn_bias || !strcmp(type, "qwen2");
    m->o_bias = attn_bias && strcmp(type, "qwen2");
    /* A sliding window never matters for sequences that fit in it, so the
     * usable context is capped at the window instead of modelling it. */
    int sliding = 1;
    if (!strcmp(type, "qwen2") && cfgBool(c, "use_sliding_window", 0, &sliding, err)) return -1;
    if (sliding && cfgHas(c, "sliding_window")) {
        int w;
        if (cfgInt(c, "sliding_window", -1, &w, err)) return -1;
        if (w < m->context) m->context = w;
    }
    return 0;
}

static int ngptConfig(const Cfg *c, NgptConfig *m, Error *err)
{
    memset(m, 0, sizeof *m);
    if (cfgInt(c, "n_embd", -1, &m->d, err) || cfgInt(c, "n_layer", -1, &m->n_layers, err) ||
        cfgInt(c, "n_head", -1, &m->n_heads, err) || cfgInt(c, "vocab_size", -1, &m->vocab, err) ||
        cfgInt(c, "block_size", -1, &m->context, err) ||
        cfgInt(c, "ffn_width", 4 * m->d, &m->ffn, err) ||
        cfgReal(c, "base_scale", 1.0 / sqrt((double)m->d), &m->base_scale, err))
        return -1;
    return 0;
}

/* model_type first, then the architectures list. */
static const char *detectFamily(const Cfg *c, const char **type, Error *err)
{
    const char *mt = cfgStr(c, "model_type", "", err);
    if (!mt) return NULL;
    static const struct {
        const char *type, *family, *arch;
    } known[] = {
        {"gpt2", "gpt2", "GPT2"},     {"llama", "llama", "Llama"}, {"mistral", "llama", "Mistral"},
        {"qwen2", "llama", "Qwen2"}, {"ngpt", "ngpt", "NGPT"},
    };
    int n = (int)(sizeof known / sizeof known[0]);
    for (int i = 0; i < n; i++)
        if (!strcmp(mt, known[i].type)) {
            *type = known[i].type;
            return known[i].family;
        }
    json_t *arch = json_object_get(c->root, "architectures");
    size_t ai;
    json_t *a;
    if (json_is_array(arch))
        json_array_foreach(arch, ai, a)
        {
            if (!json_is_string(a)) continue;
            for (int i = 0; i < n; i++)
                if (!strncasecmp(json_string_value(a), known[i].arch, strlen(known[i].arch))) {
                    *type = known[i].type;
                    return known[i].family;
                }
        }
    if (*mt)
        errorSet(err, EXIT_INPUT, "%s: model_type '%s' is not supported (gpt2, llama, mistral, qwen2, ngpt)",
                 c->path, mt);
    else
        errorSet(err, EXIT_INPUT, "%s: key 'model_type' is missing and 'architectures' names no known family",
                 c->path);
    return NULL;
}

/* ---- safetensors, single or sharded ---- */

typedef struct Files {
    char *index_path;   /* NULL when single */
    json_t *index;      /* the parsed index (owns weight_map) */
    json_t *weight_map;
    int n;
    char **names;       /* [n] shard file names, as in the index */
    StFile **st;        /* [n] */
} Files;

static char *joinPath(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void filesClose(Files *f)
{
    for (int i = 0; i < f->n; i++) {
        stClose(f->st[i]);
        free(f->names[i]);
    }
    free(f->st);
    free(f->names);
    json_decref(f->index);
    free(f->index_path);
}

static int filesAdd(Files *f, const char *dir, const char *name, Error *err)
{
    char **names = realloc(f->names, (size_t)(f->n + 1) * sizeof *names);
    if (!names) return errorNoMem(err, dir);
    f->names = names;
    StFile **st = realloc(f->st, (size_t)(f->n + 1) * sizeof *st);
    if (!st) return errorNoMem(err, dir);
    f->st = st;
    char *path = joinPath(dir, name);
    if (!path || !(f->names[f->n] = strdup(name))) {
        free(path);
        return errorNoMem(err, dir);
    }
    int rc = stOpen(path, &f->st[f->n], err);
    free(path);
    if (rc) {
        free(f->names[f->n]);
        return -1;
    }
    f->n++;
    return 0;
}

static int filesOpen(Files *f, const char *dir, Error *err)
{
    memset(f, 0, sizeof *f);
    char *single = joinPath(dir, "model.safetensors");
    char *index = joinPath(dir, "model.safetensors.index.json");
    if (!single || !index) {
        free(single);
        free(index);
        return errorNoMem(err, dir);
    }
    int rc = 0;
    if (fileIsRegular(single)) {
        rc = filesAdd(f, dir, "model.safetensors", err);
        free(index);
    } else if (fileIsRegular(index)) {
        f->index_path = index;
        json_error_t je;
        f->index = json_load_file(index, 0, &je);
        if (!f->index) {
            rc = errorSet(err, EXIT_INPUT, "%s:%d:%d: %s", index, je.line, je.column, je.text);
        } else if (!json_is_object(f->weight_map = json_object_get(f->index, "weight_map"))) {
            rc = errorSet(err, EXIT_INPUT, "%s: 'weight_map' is missing or not an object", index);
        } else {
            const char *key;
            json_t *v;
            json_object_foreach(f->weight_map, key, v)
            {
                const char *name = json_string_value(v);
                if (!name || !*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
                    rc = errorSet(err, EXIT_INPUT, "%s: shard of tensor '%s' must be a file name in the same folder",
                                  index, key);
                    break;
                }
                int seen = 0;
                for (int i = 0; i < f->n && !seen; i++) seen = !strcmp(f->names[i], name);
                if (!seen && (rc = filesAdd(f, dir, name, err))) break;
            }
        }
    } else {
        free(index);
        rc = errorSet(err, EXIT_INPUT, "%s: neither model.safetensors nor model.safetensors.index.json found",
                      dir);
    }
    free(single);
    if (rc) filesClose(f);
    return rc;
}

/* The tensor called name, or NULL when absent; *where gets the file that
 * should hold it (for messages). */
static const StTensor *filesFind(const Files *f, const char *name, const char **where)
{
    if (!f->weight_map) {
        *where = stPath(f->st[0]);
        return stFind(f->st[0], name);
    }
    *where = f->index_path;
    const char *shard = json_string_value(json_object_get(f->weight_map, name));
    if (!shard) return NULL;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], shard)) {
            *where = stPath(f->st[i]);
            return stFind(f->st[i], name);
        }
    return NULL;
}

/* ---- filling the weight slots ---- */

static void shapeStr(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

/* The mapped bytes of a converted tensor are not needed again: dropping them
 * from this process keeps the peak memory of a load near the float32 weights
 * instead of weights plus file. (The pages stay in the page cache; a later
 * read, as of a neighbour sharing an edge page, faults them back in.) */
static void releaseMapped(const StTensor *t)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || t->nbytes == 0) return;
    uintptr_t a = (uintptr_t)t->data, b = a + t->nbytes;
    a = a / (uintptr_t)page * (uintptr_t)page;
    b = (b + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    madvise((void *)a, b - a, MADV_DONTNEED);
}

static int isFloat(StDtype d) { return d == ST_F16 || d == ST_BF16 || d == ST_F32 || d == ST_F64; }

/* Out-of-place transpose of src [r, c] into dst [c, r], in tiles for the cache. */
static void transpose(const float *src, float *dst, int64_t r, int64_t c)
{
    const int64_t B = 32;
    for (int64_t i0 = 0; i0 < r; i0 += B)
        for (int64_t j0 = 0; j0 < c; j0 += B)
            for (int64_t i = i0; i < i0 + B && i < r; i++)
                for (int64_t j = j0; j < j0 + B && j < c; j++) dst[j * r + i] = src[i * c + j];
}

/* Checks every slot's tensor (presence, shape, dtype) and, unless info_only,
 * converts it into the slot. */
static int fillSlots(const Files *f, WeightSet *ws, const char *prefix, int info_only, char *dtype_out,
                     Error *err)
{
    int64_t by_dtype[ST_BOOL + 1] = {0};
    for (int i = 0; i < ws->count; i++) {
        const WeightSlot *s = &ws->slots[i];
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, s->name);
        const char *where;
        const StTensor *t = filesFind(f, name, &where);
        if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor '%s' is missing", where, name);
        int64_t want[2] = {s->shape[0], s->shape[1]};
        if (s->flags & SLOT_CONV1D) {
            want[0] = s->shape[1];
            want[1] = s->shape[0];
        }
        int ok = t->ndim == s->ndim;
        for (int k = 0; ok && k < s->ndim; k++) ok = t->shape[k] == want[k];
        if (!ok) {
            char got[128], exp[64];
            shapeStr(got, sizeof got, t->ndim, t->shape);
            shapeStr(exp, sizeof exp, s->ndim, want);
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has shape %s, expected %s", where, name,
                            got, exp);
        }
        if (!isFloat(t->dtype))
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16",
                            where, name, stDtypeName(t->dtype));
        by_dtype[t->dtype] += stElements(t);
        if (info_only || !s->dst) continue;
        if (s->flags & SLOT_CONV1D) {
            float *tmp = malloc((size_t)stElements(t) * sizeof(float));
            if (!tmp) return errorNoMem(err, where);
            int rc = stToF32(t, tmp, err);
            if (!rc) transpose(tmp, *s->dst, want[0], want[1]);
            free(tmp);
            if (rc) return -1;
        } else if (stToF32(t, *s->dst, err)) {
            return -1;
        }
        releaseMapped(t);
    }
    StDtype best = ST_F32;
    for (int d = 0; d <= ST_BOOL; d++)
        if (by_dtype[d] > by_dtype[best]) best = (StDtype)d;
    snprintf(dtype_out, 8, "%s", stDtypeName(best));
    return 0;
}

int hfDetect(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hfLoad(const char *dir, const ModelOptions *opt, LoadedModel *out, Error *err)
{
    const char *family = opt->family;
    int info_only = opt->info_only;
    memset(out, 0, sizeof *out);
    char *cfg_path = joinPath(dir, "config.json");
    if (!cfg_path) return errorNoMem(err, dir);
    Cfg c = {NULL, cfg_path};
    Files files = {0};
    int files_open = 0, rc = -1;
    if (!fileIsRegular(cfg_path)) {
        errorSet(err, EXIT_INPUT, "%s: no config.json (not a Hugging Face model directory)", dir);
        goto done;
    }
    json_error_t je;
    if (!(c.root = json_load_file(cfg_path, 0, &je))) {
        errorSet(err, EXIT_INPUT, "%s:%d:%d: %s", cfg_path, je.line, je.column, je.text);
        goto done;
    }
    if (!json_is_object(c.root)) {
        errorSet(err, EXIT_INPUT, "%s: not a JSON object", cfg_path);
        goto done;
    }
    const char *type = NULL;
    if (family) {
        if (strcmp(family, "gpt2") && strcmp(family, "llama") && strcmp(family, "ngpt")) {
            errorSet(err, EXIT_INPUT, "%s: family '%s' is not supported (gpt2, llama, ngpt)", dir, family);
            goto done;
        }
        if (!(type = cfgStr(&c, "model_type", family, err))) goto done;
    } else if (!(family = detectFamily(&c, &type, err))) {
        goto done;
    }

    ModelInfo *info = &out->info;
    if (!strcmp(family, "gpt2")) {
        Gpt2Config g;
        Gpt2 *m;
        if (gpt2Config(&c, &g, err) || gpt2New(&g, cfg_path, &m, err)) goto done;
        out->cls = &gpt2Class;
        out->impl = m;
        *info = (ModelInfo){.d_model = g.d, .n_layers = g.n_layers, .n_heads = g.n_heads,
                            .n_kv_heads = g.n_heads, .ffn_width = g.ffn, .vocab_size = g.vocab,
                            .context = g.context};
    } else if (!strcmp(family, "llama")) {
        LlamaConfig g;
        Llama *m;
        if (llamaConfig(&c, type, &g, err) || llamaNew(&g, cfg_path, &m, err)) goto done;
        out->cls = &llamaClass;
        out->impl = m;
        *info = (ModelInfo){.d_model = g.d, .n_layers = g.n_layers, .n_heads = g.n_heads,
                            .n_kv_heads = g.n_kv_heads, .ffn_width = g.ffn, .vocab_size = g.vocab,
                            .context = g.context};
    } else {
        NgptConfig g;
        Ngpt *m;
        if (ngptConfig(&c, &g, err) || ngptNew(&g, cfg_path, &m, err)) goto done;
        out->cls = &ngptClass;
        out->impl = m;
        *info = (ModelInfo){.d_model = g.d, .n_layers = g.n_layers, .n_heads = g.n_heads,
                            .n_kv_heads = g.n_heads, .ffn_width = g.ffn, .vocab_size = g.vocab,
                            .context = g.context};
    }
    snprintf(info->format, sizeof info->format, "hf");
    snprintf(info->family, sizeof info->family, "%s", family);

    if (filesOpen(&files, dir, err)) goto done;
    files_open = 1;
    /* GPT2LMHeadModel saves its body under "transformer.", GPT2Model without it. */
    const char *prefix = "", *where;
    if (!strcmp(family, "gpt2") && filesFind(&files, "transformer.wte.weight", &where))
        prefix = "transformer.";
    /* Every tensor is checked against the config before the weights are
     * allocated, so a lying config cannot ask for a huge allocation. */
    WeightSet *ws = out->cls->weights(out->impl);
    if (fillSlots(&files, ws, prefix, 1, info->dtype, err)) goto done;
    if (!info_only && (weightsAlloc(ws, err) || fillSlots(&files, ws, prefix, 0, info->dtype, err))) goto done;
    info->n_params = weightsParams(ws);
    rc = 0;
done:
    if (rc && out->impl) {
        out->cls->free(out->impl);
        out->impl = NULL;
    }
    if (files_open) filesClose(&files);
    json_decref(c.root);
    free(cfg_path);
    return rc;
}
