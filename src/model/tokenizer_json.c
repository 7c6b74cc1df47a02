/* Hugging Face tokenizer.json, vocab.json + merges.txt, and OpenAI's
 * encoder.json + vocab.bpe. Everything is checked before it is used: a
 * malformed file ends in one "PATH: what is wrong" line. */
#include "model/tokenizer_impl.h"
#include "model/tokenizer_pipeline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

enum { MAX_ID = 1 << 24 };

static json_t *loadJson(const char *path, size_t flags, Error *err)
{
    char *data;
    size_t len;
    if (fileReadAll(path, &data, &len, err)) return NULL;
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | flags, &je);
    free(data);
    if (!root)
        errorSet(err, EXIT_INPUT, "%s: invalid JSON at line %d column %d: %s", path, je.line,
                 je.column, je.text);
    return root;
}

/* The vocabulary object {"token": id, ...} as an id-indexed array; ids must
 * be unique, non-negative and not absurdly sparse. */
typedef struct Vocab {
    int32_t n; /* max id + 1 */
    const char **tok;
    uint32_t *len;
} Vocab;

static void vocabFree(Vocab *v)
{
    free(v->tok);
    free(v->len);
    v->tok = NULL;
    v->len = NULL;
}

static int vocabFromObject(const char *path, const char *what, json_t *obj, int32_t min_n, Vocab *v,
                           Error *err)
{
    memset(v, 0, sizeof *v);
    if (!json_is_object(obj)) return errorSet(err, EXIT_INPUT, "%s: %s is not an object", path, what);
    size_t count = json_object_size(obj);
    if (!count) return errorSet(err, EXIT_INPUT, "%s: %s is empty", path, what);
    int64_t max_id = min_n - 1;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (!json_is_integer(val))
            return errorSet(err, EXIT_INPUT, "%s: %s: id of '%s' is not an integer", path, what, key);
        json_int_t id = json_integer_value(val);
        if (id < 0 || id >= MAX_ID)
            return errorSet(err, EXIT_INPUT, "%s: %s: id %lld of '%s' is out of range", path, what,
                            (long long)id, key);
        if (id > max_id) max_id = id;
    }
    if (max_id >= (int64_t)count * 2 + 1024)
        return errorSet(err, EXIT_INPUT, "%s: %s: ids run up to %lld for %zu tokens", path, what,
                        (long long)max_id, count);
    v->n = (int32_t)max_id + 1;
    v->tok = calloc((size_t)v->n, sizeof *v->tok);
    v->len = calloc((size_t)v->n, sizeof *v->len);
    if (!v->tok || !v->len) {
        vocabFree(v);
        return errorNoMem(err, path);
    }
    json_object_foreach(obj, key, val)
    {
        int32_t id = (int32_t)json_integer_value(val);
        if (v->tok[id]) {
            int rc = errorSet(err, EXIT_INPUT, "%s: %s: id %d is given to both '%s' and '%s'", path,
                              what, id, v->tok[id], key);
            vocabFree(v);
            return rc;
        }
        v->tok[id] = key;
        v->len[id] = (uint32_t)strlen(key);
    }
    return 0;
}

/* ---- tokenizer.json ---- */

typedef struct HfParse {
    const char *path;
    TokenizerSpec spec;
    bool byte_level;   /* a ByteLevel pre-tokenizer or decoder */
    bool sp_style;     /* Prepend/Replace("▁") normalizer or Metaspace */
    bool saw_prepend;  /* normalizer Prepend("▁") */
    bool saw_replace;  /* normalizer Replace(" ", "▁") */
    char *owned[TOKENIZER_MAX_SPLITS]; /* quoted literal Split patterns */
} HfParse;

static const char *typeOf(json_t *obj)
{
    json_t *t = json_object_get(obj, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

static bool boolOr(json_t *obj, const char *key, bool dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static const char SP_SPACE[] = "\xE2\x96\x81"; /* "▁" */

static int parseNormalizer(HfParse *p, json_t *n, Error *err)
{
    if (!n || json_is_null(n)) return 0;
    const char *type = typeOf(n);
    if (!type) return errorSet(err, EXIT_INPUT, "%s: normalizer without a type", p->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        if (!json_is_array(list))
            return errorSet(err, EXIT_INPUT, "%s: normalizer Sequence without a normalizers list", p->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (parseNormalizer(p, item, err)) return -1;
        return 0;
    }
    if (!strcmp(type, "Prepend")) {
        json_t *s = json_object_get(n, "prepend");
        if (!json_is_string(s) || strcmp(json_string_value(s), SP_SPACE))
            return errorSet(err, EXIT_INPUT, "%s: only Prepend(\"\xE2\x96\x81\") normalizers are supported", p->path);
        if (p->saw_replace)
            return errorSet(err, EXIT_INPUT, "%s: normalizer Prepend after Replace is not supported", p->path);
        p->saw_prepend = true;
        return 0;
    }
    if (!strcmp(type, "Replace")) {
        json_t *pat = json_object_get(json_object_get(n, "pattern"), "String");
        json_t *content = json_object_get(n, "content");
        if (!json_is_string(pat) || strcmp(json_string_value(pat), " ") || !json_is_string(content) ||
            strcmp(json_string_value(content), SP_SPACE))
            return errorSet(err, EXIT_INPUT,
                            "%s: only Replace(\" \", \"\xE2\x96\x81\") normalizers are supported", p->path);
        p->saw_replace = true;
        return 0;
    }
    return errorSet(err, EXIT_INPUT, "%s: normalizer '%s' is not supported", p->path, type);
}

static int parsePreTokenizer(HfParse *p, json_t *n, Error *err)
{
    if (!n || json_is_null(n)) return 0;
    const char *type = typeOf(n);
    TokenizerSpec *s = &p->spec;
    if (!type) return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer without a type", p->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "pretokenizers");
        if (!json_is_array(list))
            return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer Sequence without a pretokenizers list", p->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (parsePreTokenizer(p, item, err)) return -1;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) {
        if (p->byte_level)
            return errorSet(err, EXIT_INPUT, "%s: more than one ByteLevel pre-tokenizer", p->path);
        p->byte_level = true;
        s->add_prefix_space = boolOr(n, "add_prefix_space", false);
        s->no_gpt2_regex = !boolOr(n, "use_regex", true);
        return 0;
    }
    if (!strcmp(type, "Split")) {
        if (p->byte_level)
            return errorSet(err, EXIT_INPUT, "%s: a Split after the ByteLevel pre-tokenizer is not supported", p->path);
        json_t *pat = json_object_get(n, "pattern");
        json_t *rx = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
        json_t *behavior = json_object_get(n, "behavior");
        if (!json_is_string(behavior) || strcmp(json_string_value(behavior), "Isolated") ||
            boolOr(n, "invert", false))
            return errorSet(err, EXIT_INPUT, "%s: only Split pre-tokenizers with behavior Isolated are supported", p->path);
        if (!json_is_string(rx) && !json_is_string(str))
            return errorSet(err, EXIT_INPUT, "%s: Split pre-tokenizer without a pattern", p->path);
        if (s->n_splits == TOKENIZER_MAX_SPLITS)
            return errorSet(err, EXIT_INPUT, "%s: too many Split pre-tokenizers", p->path);
        if (json_is_string(rx)) {
            s->split_regex[s->n_splits++] = json_string_value(rx);
        } else {
            /* A literal: escape every ASCII punctuation byte for PCRE2. */
            const char *lit = json_string_value(str);
            char *q = malloc(2 * strlen(lit) + 1), *o = q;
            if (!q) return errorNoMem(err, p->path);
            for (const char *c = lit; *c; c++) {
                unsigned char u = (unsigned char)*c;
                if (u < 0x80 && !((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')))
                    *o++ = '\\';
                *o++ = *c;
            }
            *o = 0;
            p->owned[s->n_splits] = q;
            s->split_regex[s->n_splits++] = q;
        }
        return 0;
    }
    if (!strcmp(type, "Metaspace")) {
        json_t *rep = json_object_get(n, "replacement");
        if (json_is_string(rep) && strcmp(json_string_value(rep), SP_SPACE))
            return errorSet(err, EXIT_INPUT, "%s: Metaspace replacement other than \"\xE2\x96\x81\" is not supported", p->path);
        p->sp_style = true;
        s->escape_spaces = true;
        s->split_on_space = boolOr(n, "split", true);
        json_t *scheme = json_object_get(n, "prepend_scheme");
        bool prepend = boolOr(n, "add_prefix_space", true);
        if (json_is_string(scheme)) {
            const char *sc = json_string_value(scheme);
            if (!strcmp(sc, "never")) prepend = false;
            else if (!strcmp(sc, "first")) prepend = true, s->prefix_first_only = true;
            else if (!strcmp(sc, "always")) prepend = true;
            else return errorSet(err, EXIT_INPUT, "%s: unknown Metaspace prepend_scheme '%s'", p->path, sc);
        }
        if (prepend) {
            s->prefix = SP_SPACE;
            s->prefix_if_missing = true;
        }
        return 0;
    }
    return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer '%s' is not supported", p->path, type);
}

static void hfFree(HfParse *p)
{
    for (int i = 0; i < TOKENIZER_MAX_SPLITS; i++) free(p->owned[i]);
}

/* Looks for the id of the first of names that is a token. */
static int32_t findSpecial(const Vocab *v, const TokenizerAddedToken *added, int32_t n_added,
                           const char *const *names)
{
    for (; *names; names++) {
        for (int32_t i = 0; i < n_added; i++)
            if (!strcmp(added[i].content, *names)) return added[i].id;
        for (int32_t i = 0; i < v->n; i++)
            if (v->tok[i] && !strcmp(v->tok[i], *names)) return i;
    }
    return -1;
}

/* A token named in tokenizer_config.json: a string, or an AddedToken object
 * with "content". *name is NULL for null. */
static int configToken(const char *cfg_path, json_t *cfg, const char *key, const char **name, Error *err)
{
    json_t *v = json_object_get(cfg, key);
    *name = NULL;
    if (json_is_object(v)) v = json_object_get(v, "content");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return errorSet(err, EXIT_INPUT, "%s: %s is not a string nor a token object", cfg_path, key);
    *name = json_string_value(v);
    return 0;
}

/* tokenizer_config.json beside the tokenizer.json: bos_token, eos_token and
 * add_bos_token. A config whose tokenizer adds no BOS (add_bos_token false,
 * or bos_token null) leaves the tokenizer without one, with the reason. */
static int readTokenizerConfig(const char *path, const Vocab *v, const TokenizerAddedToken *added, int32_t n_added,
                               TokenizerSpec *s, json_t **root, Error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    static const char NAME[] = "tokenizer_config.json";
    char *cfg_path = malloc(dir_len + sizeof NAME);
    if (!cfg_path) return errorNoMem(err, path);
    memcpy(cfg_path, path, dir_len);
    memcpy(cfg_path + dir_len, NAME, sizeof NAME);
    int rc = 0;
    if (!fileIsRegular(cfg_path)) goto out;
    /* Configs write model_max_length as 1e30 in full: reals are enough there. */
    if (!(*root = loadJson(cfg_path, JSON_DECODE_INT_AS_REAL, err))) {
        rc = -1;
        goto out;
    }
    if (!json_is_object(*root)) {
        rc = errorSet(err, EXIT_INPUT, "%s: not a JSON object", cfg_path);
        goto out;
    }
    const char *keys[2] = {"bos_token", "eos_token"};
    int32_t *ids[2] = {&s->bos, &s->eos};
    for (int k = 0; k < 2; k++) {
        json_t *present = json_object_get(*root, keys[k]);
        const char *name;
        if (!present) continue;
        if ((rc = configToken(cfg_path, *root, keys[k], &name, err))) goto out;
        *ids[k] = -1;
        if (!name) continue;
        const char *names[] = {name, NULL};
        *ids[k] = findSpecial(v, added, n_added, names);
        if (*ids[k] < 0) {
            rc = errorSet(err, EXIT_INPUT, "%s: %s '%s' is not a token of %s", cfg_path, keys[k], name, path);
            goto out;
        }
    }
    json_t *add_bos = json_object_get(*root, "add_bos_token");
    if (json_is_false(add_bos)) {
        s->bos = -1;
        s->no_bos_reason = "its tokenizer_config.json sets add_bos_token to false";
    } else if (json_is_null(json_object_get(*root, "bos_token"))) {
        s->no_bos_reason = "its tokenizer_config.json sets bos_token to null";
    }
out:
    free(cfg_path);
    return rc;
}

/* The content of each added token marked "normalized" (Hugging Face's
 * default for tokens that are not special) as the normalizer leaves it:
 * those are matched in normalized text. NULL for the others. */
static int normalizedAdded(const char *path, json_t *jadded, const TokenizerAddedToken *added, size_t n,
                           const TokPipeline *pipe, char ***out, Error *err)
{
    char **m = calloc(n ? n : 1, sizeof *m);
    if (!m) return errorNoMem(err, path);
    *out = m;
    TokScratch sc;
    if (tokScratchInit(&sc, err)) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *a = json_array_get(jadded, i);
        if (!boolOr(a, "normalized", !boolOr(a, "special", false))) continue;
        const char *norm;
        size_t len;
        if (tokPipelineNormalize(pipe, &sc, added[i].content, strlen(added[i].content), &norm, &len, err)) {
            rc = -1;
            break;
        }
        if (memchr(norm, 0, len)) {
            rc = errorSet(err, EXIT_INPUT, "%s: added token '%s' normalizes to text with a NUL", path,
                          added[i].content);
            break;
        }
        if (!(m[i] = strndup(norm, len))) rc = errorNoMem(err, path);
    }
    tokScratchFree(&sc);
    return rc;
}

int tokenizerLoadHfJson(const char *path, Tokenizer **out, Error *err)
{
    *out = NULL;
    json_t *root = loadJson(path, 0, err);
    if (!root) return -1;
    HfParse p = {.path = path};
    Vocab v = {0};
    TokenizerAddedToken *added = NULL;
    const char **merge_l = NULL, **merge_r = NULL;
    char **owned = NULL; /* "a b" merges split in two */
    size_t n_owned = 0;
    char **matches = NULL; /* normalized added tokens' contents after the normalizer */
    size_t n_added = 0;
    json_t *cfg_root = NULL; /* tokenizer_config.json, when there is one */
    int rc = -1;

    json_t *model = json_object_get(root, "model");
    if (!json_is_object(root) || !json_is_object(model)) {
        errorSet(err, EXIT_INPUT, "%s: no \"model\" object (not a tokenizer.json)", path);
        goto done;
    }
    const char *mtype = typeOf(model);
    if (mtype && strcmp(mtype, "BPE")) {
        errorSet(err, EXIT_INPUT, "%s: model type '%s' is not supported (only BPE)", path, mtype);
        goto done;
    }
    json_t *merges = json_object_get(model, "merges");
    if (!json_object_get(model, "vocab")) {
        errorSet(err, EXIT_INPUT, "%s: model has no \"vocab\"", path);
        goto done;
    }
    if (!json_is_array(merges)) {
        errorSet(err, EXIT_INPUT, "%s: model has no \"merges\" list", path);
        goto done;
    }
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0)) {
        errorSet(err, EXIT_INPUT, "%s: BPE dropout is not supported", path);
        goto done;
    }
    /* The model's affixes: only the general pipeline applies them. */
    const char *affix[2] = {NULL, NULL};
    const char *affix_keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        json_t *a = json_object_get(model, affix_keys[i]);
        if (a && !json_is_null(a) && !json_is_string(a)) {
            errorSet(err, EXIT_INPUT, "%s: %s is not a string", path, affix_keys[i]);
            goto done;
        }
        if (json_is_string(a) && json_string_value(a)[0]) affix[i] = json_string_value(a);
    }

    /* Added tokens may lie beyond the vocabulary: size the id space for both. */
    json_t *jadded = json_object_get(root, "added_tokens");
    int32_t min_n = 0;
    if (jadded && !json_is_null(jadded)) {
        if (!json_is_array(jadded)) {
            errorSet(err, EXIT_INPUT, "%s: added_tokens is not a list", path);
            goto done;
        }
        n_added = json_array_size(jadded);
        added = calloc(n_added ? n_added : 1, sizeof *added);
        if (!added) {
            errorNoMem(err, path);
            goto done;
        }
        for (size_t i = 0; i < n_added; i++) {
            json_t *a = json_array_get(jadded, i);
            json_t *id = json_object_get(a, "id"), *content = json_object_get(a, "content");
            if (!json_is_integer(id) || !json_is_string(content) || json_integer_value(id) < 0 ||
                json_integer_value(id) >= MAX_ID) {
                errorSet(err, EXIT_INPUT, "%s: added_tokens[%zu] needs an \"id\" in range and a \"content\" string",
                         path, i);
                goto done;
            }
            added[i].id = (int32_t)json_integer_value(id);
            added[i].content = json_string_value(content);
            added[i].lstrip = boolOr(a, "lstrip", false);
            added[i].rstrip = boolOr(a, "rstrip", false);
            added[i].single_word = boolOr(a, "single_word", false);
            for (size_t k = 0; k < i; k++)
                if (added[k].id == added[i].id) {
                    errorSet(err, EXIT_INPUT, "%s: added_tokens: id %d is given twice", path, added[i].id);
                    goto done;
                }
            if (added[i].id + 1 > min_n) min_n = added[i].id + 1;
        }
    }
    if (vocabFromObject(path, "model.vocab", json_object_get(model, "vocab"), min_n, &v, err)) goto done;

    size_t n_merges = json_array_size(merges);
    merge_l = calloc(n_merges ? n_merges : 1, sizeof *merge_l);
    merge_r = calloc(n_merges ? n_merges : 1, sizeof *merge_r);
    if (!merge_l || !merge_r) {
        errorNoMem(err, path);
        goto done;
    }
    owned = calloc(n_merges ? n_merges : 1, sizeof *owned);
    if (!owned) {
        errorNoMem(err, path);
        goto done;
    }
    for (size_t i = 0; i < n_merges; i++) {
        json_t *m = json_array_get(merges, i);
        if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
            json_is_string(json_array_get(m, 1))) {
            merge_l[i] = json_string_value(json_array_get(m, 0));
            merge_r[i] = json_string_value(json_array_get(m, 1));
            continue;
        }
        const char *s = json_is_string(m) ? json_string_value(m) : NULL;
        const char *sp = s ? strchr(s, ' ') : NULL;
        if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' ')) {
            errorSet(err, EXIT_INPUT, "%s: model.merges[%zu] is not \"left right\" nor [left, right]", path, i);
            goto done;
        }
        char *copy = strdup(s);
        if (!copy) {
            errorNoMem(err, path);
            goto done;
        }
        owned[n_owned++] = copy;
        copy[sp - s] = 0;
        merge_l[i] = copy;
        merge_r[i] = copy + (sp - s) + 1;
    }

    /* The common shapes (GPT-2 and LLaMA-3 byte-level, SentencePiece-style)
     * have their own fast paths; everything else runs as a pipeline. */
    TokenizerSpec *s = &p.spec;
    tokenizerSpecInit(s, TOKENIZER_BYTE_BPE, path, "tokenizer.json");
    Error shape_err = {0};
    int parsed = affix[0] || affix[1] ? -1 : parseNormalizer(&p, json_object_get(root, "normalizer"), &shape_err);
    if (!parsed) parsed = parsePreTokenizer(&p, json_object_get(root, "pre_tokenizer"), &shape_err);
    bool byte_fallback = boolOr(model, "byte_fallback", false);
    if (!parsed) {
        json_t *dec = json_object_get(root, "decoder");
        if (!p.byte_level && dec && typeOf(dec) && !strcmp(typeOf(dec), "ByteLevel") && !p.sp_style &&
            !p.saw_prepend && !p.saw_replace && s->n_splits == 0) {
            /* A ByteLevel decoder without the pre-tokenizer still means GPT-2's bytes. */
            p.byte_level = true;
            s->no_gpt2_regex = true;
        }
        if (p.saw_replace || p.saw_prepend) {
            p.sp_style = true;
            s->escape_spaces = s->escape_spaces || p.saw_replace;
            if (p.saw_prepend) {
                s->prefix = SP_SPACE;
                s->prefix_if_missing = false;
            }
        }
        if ((p.byte_level && (p.sp_style || byte_fallback)) || (!p.byte_level && !p.sp_style && !byte_fallback) ||
            (s->n_splits && !p.byte_level))
            parsed = -1;
    }
    if (parsed) {
        TokPipeline *pipe;
        if (tokPipelineParse(path, json_object_get(root, "normalizer"), json_object_get(root, "pre_tokenizer"),
                             &pipe, err))
            goto done;
        tokenizerSpecInit(s, TOKENIZER_SP_BPE, path, "tokenizer.json");
        s->pipeline = pipe;
        s->subword_prefix = affix[0];
        s->word_suffix = affix[1];
        if (normalizedAdded(path, jadded, added, n_added, pipe, &matches, err)) {
            tokPipelineFree(pipe);
            goto done;
        }
        for (size_t i = 0; i < n_added; i++) added[i].match = matches[i];
    }
    if (!s->pipeline) s->kind = p.byte_level ? TOKENIZER_BYTE_BPE : TOKENIZER_SP_BPE;
    s->n_tokens = v.n;
    s->tokens = v.tok;
    s->token_lens = v.len;
    s->merge_order = TOKENIZER_MERGE_RANK;
    s->n_merges = (int32_t)n_merges;
    s->merge_left = merge_l;
    s->merge_right = merge_r;
    s->fuse_unk = boolOr(model, "fuse_unk", false);
    s->ignore_merges = boolOr(model, "ignore_merges", false);
    s->byte_fallback = byte_fallback ? TOKENIZER_BYTES_BY_NAME : TOKENIZER_BYTES_NONE;
    s->added = added;
    s->n_added = (int32_t)n_added;
    json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk)) {
        const char *names[] = {json_string_value(unk), NULL};
        s->unk = findSpecial(&v, added, (int32_t)n_added, names);
        if (s->unk < 0) {
            errorSet(err, EXIT_INPUT, "%s: unk_token '%s' is not a token", path, json_string_value(unk));
            goto done;
        }
    }
    /* BOS/EOS are not part of tokenizer.json's model: tokenizer_config.json
     * beside it names them, otherwise the usual names are taken. */
    static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>", NULL};
    static const char *const eos_names[] = {"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>", NULL};
    s->bos = findSpecial(&v, added, (int32_t)n_added, bos_names);
    s->eos = findSpecial(&v, added, (int32_t)n_added, eos_names);
    if (readTokenizerConfig(path, &v, added, (int32_t)n_added, s, &cfg_root, err)) goto done;
    rc = tokenizerBuild(s, out, err);
    s->pipeline = NULL; /* the tokenizer's now, or freed */
done:
    if (p.spec.pipeline) tokPipelineFree(p.spec.pipeline);
    json_decref(cfg_root);
    if (matches)
        for (size_t k = 0; k < n_added; k++) free(matches[k]);
    free(matches);
    for (size_t k = 0; k < n_owned; k++) free(owned[k]);
    free(owned);
    hfFree(&p);
    free(merge_l);
    free(merge_r);
    free(added);
    vocabFree(&v);
    json_decref(root);
    return rc;
}

/* ---- vocab.json + merges.txt, encoder.json + vocab.bpe ---- */

int tokenizerLoadVocabMerges(const char *vocab_path, const char *merges_path, const char *format,
                             Tokenizer **out, Error *err)
{
    *out = NULL;
    json_t *root = loadJson(vocab_path, 0, err);
    if (!root) return -1;
    Vocab v = {0};
    char *text = NULL;
    const char **lines = NULL;
    int rc = -1;
    if (vocabFromObject(vocab_path, "vocabulary", root, 0, &v, err)) goto done;
    size_t len;
    if (fileReadAll(merges_path, &text, &len, err)) goto done;
    if (strlen(text) != len) {
        errorSet(err, EXIT_INPUT, "%s: contains a NUL byte", merges_path);
        goto done;
    }
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    lines = calloc(n_lines, sizeof *lines);
    if (!lines) {
        errorNoMem(err, merges_path);
        goto done;
    }
    /* One merge per line; a first line "#version ..." and blank lines are skipped. */
    size_t n = 0, line_no = 0;
    for (char *s = text; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        size_t l = strlen(s);
        if (l && s[l - 1] == '\r') s[--l] = 0;
        line_no++;
        if (l && !(line_no == 1 && !strncmp(s, "#version", 8))) {
            const char *sp = strchr(s, ' ');
            if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' ')) {
                errorSet(err, EXIT_INPUT, "%s: line %zu is not two tokens separated by one space",
                         merges_path, line_no);
                goto done;
            }
            lines[n++] = s;
        }
        s = nl ? nl + 1 : NULL;
    }
    TokenizerSpec spec;
    tokenizerSpecInit(&spec, TOKENIZER_BYTE_BPE, merges_path, format);
    spec.n_tokens = v.n;
    spec.tokens = v.tok;
    spec.token_lens = v.len;
    spec.n_merges = (int32_t)n;
    spec.merges = lines;
    static const char *const eot[] = {"<|endoftext|>", NULL};
    spec.bos = spec.eos = findSpecial(&v, NULL, 0, eot);
    /* What tokenizerBuild can find wrong is in the merges. */
    rc = tokenizerBuild(&spec, out, err);
done:
    free(lines);
    free(text);
    vocabFree(&v);
    json_decref(root);
    return rc;
}
