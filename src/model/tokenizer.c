/* Tokenizer construction, lookup tables and loading by path. Encoding lives
 * in tokenizer_encode.c, the file readers in tokenizer_json.c and
 * tokenizer_bin.c. */
#include "model/tokenizer_impl.h"
#include "model/tokenizer_pipeline.h"
#include "util/fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bounds that keep a hostile file from asking for absurd allocations. */
enum { MAX_TOKENS = 1 << 24, MAX_MERGES = 1 << 24 };

uint32_t tokHash(const char *s, size_t len)
{
    /* FNV-1a: token strings are short, so a byte loop is fast enough. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int32_t tokLookup(const Tokenizer *t, const char *s, size_t len)
{
    uint32_t h = tokHash(s, len);
    size_t mask = t->vocab_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const TokSlot *slot = &t->vocab[i];
        if (slot->id < 0) return -1;
        if (slot->hash == h && t->tok_len[slot->id] == len && !memcmp(t->tok[slot->id], s, len))
            return slot->id;
    }
}

static uint64_t pairHash(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return key;
}

int32_t tokPairLookup(const Tokenizer *t, int32_t a, int32_t b, int32_t *rank)
{
    if (!t->pairs_cap) return -1;
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t mask = t->pairs_cap - 1;
    for (size_t i = pairHash(key) & mask;; i = (i + 1) & mask) {
        const PairSlot *slot = &t->pairs[i];
        if (slot->key == UINT64_MAX) return -1;
        if (slot->key == key) {
            if (rank) *rank = slot->rank;
            return slot->id;
        }
    }
}

static size_t capacityFor(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    return cap;
}

void tokenizerByteChar(unsigned b, char out[3])
{
    /* Printable Latin-1 bytes stand for themselves; the other 68 (controls,
     * space, DEL, NBSP, soft hyphen) take code points 256.. in byte order. */
    unsigned cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        unsigned n = 0;
        for (unsigned x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

void tokenizerSpecInit(TokenizerSpec *spec, TokenizerKind kind, const char *source,
                       const char *format)
{
    memset(spec, 0, sizeof *spec);
    spec->kind = kind;
    spec->source = source;
    spec->format = format;
    spec->unk = spec->bos = spec->eos = -1;
}

void tokenizerFree(Tokenizer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
    for (int32_t i = 0; i < t->added.n; i++) free(t->added.tok[i].content);
    for (int32_t i = 0; i < t->added_norm.n; i++) free(t->added_norm.tok[i].content);
    free(t->added.tok);
    free(t->added_norm.tok);
    tokPipelineFree(t->pipeline);
    free(t->subword_prefix);
    free(t->word_suffix);
    free(t->prefix);
    free(t->pairs);
    free(t->vocab);
    free(t->type);
    free(t->score);
    free(t->pool);
    free(t->tok_len);
    free(t->tok);
    free(t->source);
    free(t);
}

static int cmpAdded(const void *pa, const void *pb)
{
    const AddedToken *a = pa, *b = pb;
    unsigned char fa = (unsigned char)a->content[0], fb = (unsigned char)b->content[0];
    if (fa != fb) return fa < fb ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1; /* longest first */
    return a->id < b->id ? -1 : a->id > b->id;
}

static int buildTokens(Tokenizer *t, const TokenizerSpec *spec, Error *err)
{
    const char *src = spec->source;
    int32_t n = spec->n_tokens;
    /* Added tokens may fill holes: their content becomes the id's string. */
    const char **str = calloc((size_t)n, sizeof *str);
    uint32_t *len = calloc((size_t)n, sizeof *len);
    if (!str || !len) {
        free(str);
        free(len);
        return errorNoMem(err, src);
    }
    for (int32_t i = 0; i < n; i++) {
        if (!spec->tokens[i]) continue;
        str[i] = spec->tokens[i];
        size_t l = spec->token_lens ? spec->token_lens[i] : strlen(spec->tokens[i]);
        if (l > UINT32_MAX / 2) {
            free(str);
            free(len);
            return errorSet(err, EXIT_INPUT, "%s: token %d is too long", src, i);
        }
        len[i] = (uint32_t)l;
    }
    for (int32_t k = 0; k < spec->n_added; k++) {
        const TokenizerAddedToken *a = &spec->added[k];
        int fail = 0;
        if (a->id < 0 || a->id >= n)
            fail = errorSet(err, EXIT_INPUT, "%s: added token '%s' has id %d, outside 0..%d", src,
                            a->content, a->id, n - 1);
        else if (!a->content || !a->content[0])
            fail = errorSet(err, EXIT_INPUT, "%s: added token %d is empty", src, a->id);
        else if (str[a->id] &&
                 (len[a->id] != strlen(a->content) || memcmp(str[a->id], a->content, len[a->id])))
            fail = errorSet(err, EXIT_INPUT, "%s: added token '%s' has id %d, which is token '%.*s'",
                            src, a->content, a->id, (int)len[a->id], str[a->id]);
        if (fail) {
            free(str);
            free(len);
            return -1;
        }
        str[a->id] = a->content;
        len[a->id] = (uint32_t)strlen(a->content);
    }

    size_t total = 0;
    for (int32_t i = 0; i < n; i++) total += len[i] + 1;
    t->pool = malloc(total ? total : 1);
    t->tok = calloc((size_t)n, sizeof *t->tok);
    t->tok_len = len;
    if (!t->pool || !t->tok) {
        free(str);
        return errorNoMem(err, src);
    }
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!str[i]) continue;
        memcpy(t->pool + off, str[i], len[i]);
        t->pool[off + len[i]] = 0;
        t->tok[i] = t->pool + off;
        off += len[i] + 1;
    }
    free(str);

    t->vocab_cap = capacityFor((size_t)n);
    t->vocab = malloc(t->vocab_cap * sizeof *t->vocab);
    if (!t->vocab) return errorNoMem(err, src);
    for (size_t i = 0; i < t->vocab_cap; i++) t->vocab[i].id = -1;
    size_t mask = t->vocab_cap - 1;
    for (int32_t id = 0; id < n; id++) {
        if (!t->tok[id]) continue;
        if (tokLookup(t, t->tok[id], t->tok_len[id]) >= 0) continue; /* the lowest id keeps it */
        uint32_t h = tokHash(t->tok[id], t->tok_len[id]);
        size_t i = h & mask;
        while (t->vocab[i].id >= 0) i = (i + 1) & mask;
        t->vocab[i].hash = h;
        t->vocab[i].id = id;
    }
    return 0;
}

/* Splits "left right" at its one space, HF's rule for merges.txt lines. */
static int splitMerge(const char *m, const char **right, size_t *left_len)
{
    const char *sp = strchr(m, ' ');
    if (!sp || sp == m || !sp[1] || strchr(sp + 1, ' ')) return -1;
    *left_len = (size_t)(sp - m);
    *right = sp + 1;
    return 0;
}

static int buildMerges(Tokenizer *t, const TokenizerSpec *spec, Error *err)
{
    const char *src = spec->source;
    if (spec->n_merges < 0 || spec->n_merges > MAX_MERGES)
        return errorSet(err, EXIT_INPUT, "%s: bad merge count %d", src, spec->n_merges);
    if (!spec->n_merges) return 0;
    if (!spec->merges && !(spec->merge_left && spec->merge_right))
        return errorSet(err, EXIT_INPUT, "%s: merges missing", src);
    t->pairs_cap = capacityFor((size_t)spec->n_merges);
    t->pairs = malloc(t->pairs_cap * sizeof *t->pairs);
    char *joined = NULL;
    size_t joined_cap = 0;
    if (!t->pairs) return errorNoMem(err, src);
    for (size_t i = 0; i < t->pairs_cap; i++) t->pairs[i].key = UINT64_MAX;
    size_t mask = t->pairs_cap - 1;
    for (int32_t r = 0; r < spec->n_merges; r++) {
        const char *left, *right;
        size_t left_len;
        if (spec->merges) {
            left = spec->merges[r];
            if (!left || splitMerge(left, &right, &left_len)) {
                free(joined);
                return errorSet(err, EXIT_INPUT, "%s: merge %d ('%s') is not two tokens separated by one space",
                                src, r, left ? left : "");
            }
        } else {
            left = spec->merge_left[r];
            right = spec->merge_right[r];
            if (!left || !right) {
                free(joined);
                return errorSet(err, EXIT_INPUT, "%s: merge %d is incomplete", src, r);
            }
            left_len = strlen(left);
        }
        size_t right_len = strlen(right);
        int32_t a = tokLookup(t, left, left_len), b = tokLookup(t, right, right_len);
        if (a < 0 || b < 0) {
            free(joined);
            return errorSet(err, EXIT_INPUT, "%s: merge %d ('%.*s' '%s') names unknown token '%.*s'",
                            src, r, (int)left_len, left, right, a < 0 ? (int)left_len : (int)right_len,
                            a < 0 ? left : right);
        }
        if (left_len + right_len + 1 > joined_cap) {
            joined_cap = 2 * (left_len + right_len + 1);
            char *grown = realloc(joined, joined_cap);
            if (!grown) {
                free(joined);
                return errorNoMem(err, src);
            }
            joined = grown;
        }
        /* With a continuing-subword prefix ("##"), "a" + "##b" makes "ab". */
        const char *tail = right;
        size_t tail_len = right_len;
        if (t->subword_prefix_len && right_len >= t->subword_prefix_len &&
            !memcmp(right, t->subword_prefix, t->subword_prefix_len)) {
            tail += t->subword_prefix_len;
            tail_len -= t->subword_prefix_len;
        }
        memcpy(joined, left, left_len);
        memcpy(joined + left_len, tail, tail_len);
        int32_t id = tokLookup(t, joined, left_len + tail_len);
        if (id < 0) {
            errorSet(err, EXIT_INPUT, "%s: merge %d ('%.*s' '%s') makes '%.*s%.*s', which is not a token",
                     src, r, (int)left_len, left, right, (int)left_len, left, (int)tail_len, tail);
            free(joined);
            return -1;
        }
        /* A pair listed twice keeps its later rank, as HF and GPT-2's encoder do. */
        uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
        size_t i = pairHash(key) & mask;
        while (t->pairs[i].key != UINT64_MAX && t->pairs[i].key != key) i = (i + 1) & mask;
        t->pairs[i].key = key;
        t->pairs[i].rank = r;
        t->pairs[i].id = id;
    }
    free(joined);
    t->n_merges = spec->n_merges;
    return 0;
}

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Oniguruma's \w under Unicode: Alphabetic, marks, decimal digits, connector
 * punctuation, and the Latin-1 digits it counts as word characters. */
#define ONIG_WORD "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}"

pcre2_code *tokCompileRegex(const char *pattern, const char *source, Error *err)
{
    /* PCRE2's \s under UCP also takes U+180E and leaves out nothing the
     * references take, so \s and \S are spelled out as White_Space, the
     * set used by the reference encoders (Python's regex, HF's Oniguruma). */
    /* \w, \W, \b and \B take Oniguruma's Unicode word characters (what the
     * tokenizer.json patterns were written for), not PCRE2's letters and numbers.
     * The longest rewrite (\b) grows two characters by under 320 bytes. */
    size_t n = strlen(pattern), cap = n * 160 + 16, o = 0;
    char *rx = malloc(cap);
    if (!rx) {
        errorNoMem(err, source);
        return NULL;
    }
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        const char *ins = NULL;
        if (pattern[i] == '\\' && i + 1 < n) {
            char c = pattern[i + 1];
            if (c == 's') ins = in_class ? TOK_WS_CLASS : "[" TOK_WS_CLASS "]";
            else if (c == 'S' && !in_class) ins = "[^" TOK_WS_CLASS "]";
            else if (c == 'w') ins = in_class ? ONIG_WORD : "[" ONIG_WORD "]";
            else if (c == 'W' && !in_class) ins = "[^" ONIG_WORD "]";
            else if (c == 'b' && !in_class)
                ins = "(?:(?<=[" ONIG_WORD "])(?![" ONIG_WORD "])|(?<![" ONIG_WORD "])(?=[" ONIG_WORD "]))";
            else if (c == 'B' && !in_class)
                ins = "(?:(?<=[" ONIG_WORD "])(?=[" ONIG_WORD "])|(?<![" ONIG_WORD "])(?![" ONIG_WORD "]))";
            if (ins) {
                size_t l = strlen(ins);
                memcpy(rx + o, ins, l);
                o += l;
                i++;
                continue;
            }
            rx[o++] = pattern[i++];
            rx[o++] = pattern[i];
            continue;
        }
        if (pattern[i] == '[' && !in_class) {
            in_class = true;
            rx[o++] = pattern[i];
            /* "]" or "^]" right after "[" is a literal bracket. */
            if (i + 1 < n && pattern[i + 1] == '^') rx[o++] = pattern[++i];
            if (i + 1 < n && pattern[i + 1] == ']') rx[o++] = pattern[++i];
            continue;
        }
        if (pattern[i] == ']' && in_class) in_class = false;
        rx[o++] = pattern[i];
    }
    rx[o] = 0;
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)rx, o, PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
    free(rx);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        errorSet(err, EXIT_INPUT, "%s: pre-tokenizer regex '%s' does not compile: %s", source,
                 pattern, (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter when unavailable */
    return re;
}

static int addedSetAdd(AddedSet *set, const TokenizerAddedToken *a, const char *match,
                       const char *src, Error *err)
{
    AddedToken *d = &set->tok[set->n];
    d->content = strdup(match);
    if (!d->content) return errorNoMem(err, src);
    set->n++;
    d->id = a->id;
    d->len = strlen(match);
    d->lstrip = a->lstrip;
    d->rstrip = a->rstrip;
    d->single_word = a->single_word;
    return 0;
}

static void addedSetIndex(AddedSet *set)
{
    if (set->n) qsort(set->tok, (size_t)set->n, sizeof *set->tok, cmpAdded);
    int32_t k = 0;
    for (int b = 0; b <= 256; b++) {
        while (k < set->n && (unsigned char)set->tok[k].content[0] < b) k++;
        set->start[b] = k;
    }
}

static int buildAdded(Tokenizer *t, const TokenizerSpec *spec, Error *err)
{
    if (spec->n_added < 0) return errorSet(err, EXIT_INPUT, "%s: bad added token count", spec->source);
    if (spec->n_added) {
        t->added.tok = calloc((size_t)spec->n_added, sizeof *t->added.tok);
        t->added_norm.tok = calloc((size_t)spec->n_added, sizeof *t->added_norm.tok);
        if (!t->added.tok || !t->added_norm.tok) return errorNoMem(err, spec->source);
    }
    for (int32_t i = 0; i < spec->n_added; i++) {
        const TokenizerAddedToken *a = &spec->added[i];
        int rc;
        if (!a->match) rc = addedSetAdd(&t->added, a, a->content, spec->source, err);
        else if (a->match[0]) rc = addedSetAdd(&t->added_norm, a, a->match, spec->source, err);
        else rc = 0; /* normalized to nothing: it can never match */
        if (rc) return -1;
    }
    addedSetIndex(&t->added);
    addedSetIndex(&t->added_norm);
    return 0;
}

static int checkSpecialId(const Tokenizer *t, int32_t id, const char *what, const char *src,
                          Error *err)
{
    if (id == -1) return 0;
    if (id < 0 || id >= t->n_tokens || !t->tok[id])
        return errorSet(err, EXIT_INPUT, "%s: %s token id %d is not a token", src, what, id);
    return 0;
}

static bool wordsApart(const Tokenizer *t)
{
    const char *sp = t->escape_spaces || t->pipeline ? "\xE2\x96\x81" : " ";
    size_t sl = strlen(sp);
    if (tokLookup(t, sp, sl) < 0) return false;
    for (int32_t id = 0; id < t->n_tokens; id++) {
        const char *s = t->tok[id];
        size_t n = t->tok_len[id];
        if (!s) continue;
        for (size_t off = 1; off + sl <= n; off++)
            if (!memcmp(s + off, sp, sl) && (off < sl || memcmp(s + off - sl, sp, sl))) return false;
    }
    return true;
}

/* Messages quote file contents (token strings, JSON parser context): control
 * characters are escaped so that the error stays one line. */
static int cleanError(Error *err)
{
    if (!err) return -1;
    char buf[sizeof err->msg];
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)err->msg; *c && o + 5 < sizeof buf; c++) {
        if (*c < 0x20 || *c == 0x7F) o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02X", *c);
        else buf[o++] = (char)*c;
    }
    buf[o] = 0;
    memcpy(err->msg, buf, o + 1);
    return -1;
}

static int buildChecked(const TokenizerSpec *spec, Tokenizer **out, Error *err);

int tokenizerBuild(const TokenizerSpec *spec, Tokenizer **out, Error *err)
{
    if (!buildChecked(spec, out, err)) return 0;
    tokPipelineFree(spec->pipeline); /* taken over even on failure */
    return cleanError(err);
}

static int buildChecked(const TokenizerSpec *spec, Tokenizer **out, Error *err)
{
    const char *src = spec->source ? spec->source : "tokenizer";
    *out = NULL;
    if (spec->pipeline && spec->kind != TOKENIZER_SP_BPE)
        return errorSet(err, EXIT_INPUT, "%s: a normalizer/pre-tokenizer pipeline needs the sp-bpe kind", src);
    if (spec->n_tokens <= 0 || spec->n_tokens > MAX_TOKENS || !spec->tokens)
        return errorSet(err, EXIT_INPUT, "%s: bad vocabulary size %d", src, spec->n_tokens);
    if (spec->merge_order == TOKENIZER_MERGE_SCORE && !spec->scores)
        return errorSet(err, EXIT_INPUT, "%s: merging by score needs token scores", src);
    if (spec->n_splits < 0 || spec->n_splits > TOKENIZER_MAX_SPLITS)
        return errorSet(err, EXIT_INPUT, "%s: too many pre-tokenizer splits", src);
    Tokenizer *t = calloc(1, sizeof *t);
    if (!t) return errorNoMem(err, src);
    t->pipeline = spec->pipeline;
    t->kind = spec->kind;
    t->format = spec->format ? spec->format : "";
    t->source = strdup(src);
    t->n_tokens = spec->n_tokens;
    t->merge_order = spec->merge_order;
    t->unk = spec->unk;
    t->bos = spec->bos;
    t->eos = spec->eos;
    t->no_bos_reason = spec->no_bos_reason;
    t->fuse_unk = spec->fuse_unk;
    t->ignore_merges = spec->ignore_merges;
    t->byte_fallback = spec->byte_fallback;
    t->add_prefix_space = spec->add_prefix_space;
    t->prefix_if_missing = spec->prefix_if_missing;
    t->prefix_first_only = spec->prefix_first_only;
    t->escape_spaces = spec->escape_spaces;
    t->split_on_space = spec->split_on_space;
    if (!t->source) goto nomem;
    if (spec->subword_prefix && spec->subword_prefix[0]) {
        if (!(t->subword_prefix = strdup(spec->subword_prefix))) goto nomem;
        t->subword_prefix_len = strlen(t->subword_prefix);
    }
    if (spec->word_suffix && spec->word_suffix[0]) {
        if (!(t->word_suffix = strdup(spec->word_suffix))) goto nomem;
        t->word_suffix_len = strlen(t->word_suffix);
    }
    if (buildTokens(t, spec, err)) goto fail;
    if (spec->scores) {
        t->score = malloc((size_t)t->n_tokens * sizeof *t->score);
        if (!t->score) goto nomem;
        memcpy(t->score, spec->scores, (size_t)t->n_tokens * sizeof *t->score);
    }
    if (spec->types) {
        t->type = malloc((size_t)t->n_tokens * sizeof *t->type);
        if (!t->type) goto nomem;
        memcpy(t->type, spec->types, (size_t)t->n_tokens * sizeof *t->type);
    }
    if (spec->merge_order == TOKENIZER_MERGE_RANK && buildMerges(t, spec, err)) goto fail;
    if (checkSpecialId(t, t->unk, "unknown", src, err) || checkSpecialId(t, t->bos, "BOS", src, err) ||
        checkSpecialId(t, t->eos, "EOS", src, err))
        goto fail;

    for (int b = 0; b < 256; b++) {
        char name[8];
        t->byte_id[b] = -1;
        if (t->kind == TOKENIZER_BYTE_BPE) {
            tokenizerByteChar((unsigned)b, name);
            t->byte_id[b] = tokLookup(t, name, strlen(name));
        } else if (t->byte_fallback == TOKENIZER_BYTES_BY_NAME) {
            snprintf(name, sizeof name, "<0x%02X>", b);
            t->byte_id[b] = tokLookup(t, name, strlen(name));
        } else if (t->byte_fallback == TOKENIZER_BYTES_OFFSET3) {
            if (b + 3 >= t->n_tokens || !t->tok[b + 3]) {
                errorSet(err, EXIT_INPUT, "%s: %d tokens leave no byte token for byte %d (id %d)",
                         src, t->n_tokens, b, b + 3);
                goto fail;
            }
            t->byte_id[b] = b + 3;
        }
    }

    if (t->kind == TOKENIZER_BYTE_BPE) {
        for (int i = 0; i < spec->n_splits; i++) {
            if (!spec->split_regex[i]) continue;
            if (!(t->re[t->n_re] = tokCompileRegex(spec->split_regex[i], src, err))) goto fail;
            t->n_re++;
        }
        if (!spec->no_gpt2_regex) {
            if (!(t->re[t->n_re] = tokCompileRegex(GPT2_PATTERN, src, err))) goto fail;
            t->n_re++;
            t->gpt2_re = true;
        }
    } else if (spec->prefix && spec->prefix[0]) {
        t->prefix = strdup(spec->prefix);
        if (!t->prefix) goto nomem;
        t->prefix_len = strlen(t->prefix);
    }
    /* Merging words apart changes what the affixes and ignore_merges see. */
    if (t->kind == TOKENIZER_SP_BPE && !t->subword_prefix && !t->word_suffix &&
        !(t->pipeline && t->ignore_merges))
        t->words_apart = wordsApart(t);
    if (buildAdded(t, spec, err)) goto fail;
    *out = t;
    return 0;
nomem:
    errorNoMem(err, src);
fail:
    t->pipeline = NULL; /* freed by tokenizerBuild */
    tokenizerFree(t);
    return -1;
}

int tokenizerVocabSize(const Tokenizer *t) { return t->n_tokens; }
int tokenizerBos(const Tokenizer *t) { return t->bos; }
int tokenizerEos(const Tokenizer *t) { return t->eos; }
const char *tokenizerNoBosReason(const Tokenizer *t) { return t->bos < 0 ? t->no_bos_reason : NULL; }
const char *tokenizerKind(const Tokenizer *t)
{
    return t->kind == TOKENIZER_BYTE_BPE ? "byte-bpe" : "sp-bpe";
}
const char *tokenizerFormat(const Tokenizer *t) { return t->format; }

const char *tokenizerToken(const Tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_tokens || !t->tok[id]) return NULL;
    if (len) *len = t->tok_len[id];
    return t->tok[id];
}

/* ---- finding the files ---- */

static char *joinPath(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t o = a;
    if (a && dir[a - 1] != '/') p[o++] = '/';
    memcpy(p + o, name, b + 1);
    return p;
}

static char *dirOf(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *baseName(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool endsWith(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Loads vocab + merges with the merges file found next to the vocab, or the
 * other way round. */
static int loadPair(const char *dir, const char *vocab_name, const char *merges_name,
                    const char *format, Tokenizer **out, Error *err)
{
    char *v = joinPath(dir, vocab_name), *m = joinPath(dir, merges_name);
    int rc;
    if (!v || !m) rc = errorNoMem(err, dir);
    else if (!fileIsRegular(v)) rc = errorSet(err, EXIT_INPUT, "%s: missing (needed with %s)", v, m);
    else if (!fileIsRegular(m)) rc = errorSet(err, EXIT_INPUT, "%s: missing (needed with %s)", m, v);
    else rc = tokenizerLoadVocabMerges(v, m, format, out, err);
    free(v);
    free(m);
    return rc;
}

static int loadDir(const char *dir, Tokenizer **out, Error *err)
{
    static const struct {
        const char *a, *b, *format;
    } forms[] = {
        {"tokenizer.json", NULL, "tokenizer.json"},
        {"vocab.json", "merges.txt", "vocab.json+merges.txt"},
        {"encoder.json", "vocab.bpe", "encoder.json+vocab.bpe"},
        {"tokenizer.bin", NULL, "tokenizer.bin"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *a = joinPath(dir, forms[i].a);
        if (!a) return errorNoMem(err, dir);
        bool have = fileIsRegular(a);
        int rc = 0;
        if (have) {
            if (!forms[i].b) rc = i == 0 ? tokenizerLoadHfJson(a, out, err) : tokenizerLoadLlama2c(a, out, err);
            else rc = loadPair(dir, forms[i].a, forms[i].b, forms[i].format, out, err);
        }
        free(a);
        if (have) return rc;
    }
    return errorSet(err, EXIT_INPUT,
                    "%s: no tokenizer found (looked for tokenizer.json, vocab.json + merges.txt, "
                    "encoder.json + vocab.bpe, tokenizer.bin)", dir);
}

static int loadPath(const char *path, Tokenizer **out, Error *err);

int tokenizerLoad(const char *path, Tokenizer **out, Error *err)
{
    return loadPath(path, out, err) ? cleanError(err) : 0;
}

static int loadPath(const char *path, Tokenizer **out, Error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return errorSet(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return loadDir(path, out, err);
    if (!S_ISREG(st.st_mode)) return errorSet(err, EXIT_INPUT, "%s: not a file or directory", path);

    const char *base = baseName(path);
    char *dir = dirOf(path);
    if (!dir) return errorNoMem(err, path);
    int rc;
    if (!strcmp(base, "vocab.json") || !strcmp(base, "merges.txt"))
        rc = loadPair(dir, "vocab.json", "merges.txt", "vocab.json+merges.txt", out, err);
    else if (!strcmp(base, "encoder.json") || !strcmp(base, "vocab.bpe"))
        rc = loadPair(dir, "encoder.json", "vocab.bpe", "encoder.json+vocab.bpe", out, err);
    else if (!strcmp(base, "config.json") || endsWith(base, ".safetensors") ||
             !strcmp(base, "model.safetensors.index.json"))
        rc = loadDir(dir, out, err); /* a file of a Hugging Face model: its folder has the tokenizer */
    else if (endsWith(base, ".json"))
        rc = tokenizerLoadHfJson(path, out, err);
    else if (endsWith(base, ".bin"))
        rc = tokenizerLoadLlama2c(path, out, err);
    else
        rc = errorSet(err, EXIT_INPUT,
                      "%s: not a tokenizer file (give a model directory, tokenizer.json, vocab.json, "
                      "merges.txt, encoder.json, vocab.bpe or a llama2.c tokenizer.bin)", path);
    free(dir);
    return rc;
}
