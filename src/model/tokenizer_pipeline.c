/* tokenizer.json normalizers and pre-tokenizers, run the way Hugging Face's
 * tokenizers library runs them (see tokenizer_pipeline.h). Offsets are not
 * tracked: only the resulting strings decide the ids. */
#define _GNU_SOURCE /* memmem */
#include "model/tokenizer_pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- what a step can match ---- */

typedef enum PatternKind {
    PAT_REGEX,
    PAT_STRING,
    PAT_WHITESPACE,  /* one White_Space character */
    PAT_PUNCTUATION, /* one ASCII or Unicode (P*) punctuation character */
    PAT_NUMERIC,     /* one N* character */
    PAT_CHAR,        /* one given character */
} PatternKind;

typedef struct Pattern {
    PatternKind kind;
    pcre2_code *re;
    char *lit; /* PAT_STRING, PAT_CHAR (its UTF-8) */
    size_t lit_len;
    bool invert; /* matches and the text between them trade places */
} Pattern;

typedef enum Behavior {
    BEHAVIOR_REMOVED,
    BEHAVIOR_ISOLATED,
    BEHAVIOR_MERGED_WITH_PREVIOUS,
    BEHAVIOR_MERGED_WITH_NEXT,
    BEHAVIOR_CONTIGUOUS,
} Behavior;

typedef enum NormKind {
    NORM_UNICODE, /* utf8proc options in `uflags` */
    NORM_LOWERCASE,
    NORM_STRIP,
    NORM_STRIP_ACCENTS,
    NORM_REPLACE,
    NORM_PREPEND,
    NORM_BERT_CLEAN, /* BertNormalizer's cleaning and Chinese padding */
    NORM_STRIP_MN,   /* BertNormalizer's accent stripping (after NFD) */
} NormKind;

typedef struct NormStep {
    NormKind kind;
    int uflags;
    bool left, right;                                  /* Strip */
    Pattern pat;                                       /* Replace */
    char *text;                  /* Replace content, Prepend text */
    bool clean_text, chinese_chars; /* BertNormalizer */
} NormStep;

typedef enum PreKind { PRE_SPLIT, PRE_BYTE_LEVEL, PRE_METASPACE } PreKind;

typedef enum PrependScheme { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } PrependScheme;

typedef struct PreStep {
    PreKind kind;
    Pattern pat; /* Split; ByteLevel: GPT-2's pattern when use_regex */
    Behavior behavior;
    bool add_prefix_space, use_regex; /* ByteLevel */
    char *rep;                        /* Metaspace replacement (UTF-8) */
    size_t rep_len;
    PrependScheme scheme;
    bool split;
} PreStep;

struct TokPipeline {
    const char *path;
    NormStep *norm;
    int n_norm, cap_norm;
    PreStep *pre;
    int n_pre, cap_pre;
};

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* Whitespace's \w+|[^\w\s]+ with the Rust regex crate's Unicode \w. */
#define RUST_WORD "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}"
static const char WHITESPACE_PATTERN[] = "[" RUST_WORD "]+|[^" RUST_WORD "\\s]+";

static void patternFree(Pattern *p)
{
    if (p->re) pcre2_code_free(p->re);
    free(p->lit);
}

void tokPipelineFree(TokPipeline *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_norm; i++) {
        patternFree(&p->norm[i].pat);
        free(p->norm[i].text);
    }
    for (int i = 0; i < p->n_pre; i++) {
        patternFree(&p->pre[i].pat);
        free(p->pre[i].rep);
    }
    free(p->norm);
    free(p->pre);
    free(p);
}

bool tokPipelineHasNormalizer(const TokPipeline *p) { return p->n_norm > 0; }

/* ---- parsing ---- */

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

static NormStep *addNorm(TokPipeline *p, NormKind kind, Error *err)
{
    if (p->n_norm == p->cap_norm) {
        int cap = p->cap_norm ? 2 * p->cap_norm : 4;
        NormStep *n = realloc(p->norm, (size_t)cap * sizeof *n);
        if (!n) {
            errorNoMem(err, p->path);
            return NULL;
        }
        p->norm = n;
        p->cap_norm = cap;
    }
    NormStep *s = &p->norm[p->n_norm++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

static PreStep *addPre(TokPipeline *p, PreKind kind, Error *err)
{
    if (p->n_pre == p->cap_pre) {
        int cap = p->cap_pre ? 2 * p->cap_pre : 4;
        PreStep *n = realloc(p->pre, (size_t)cap * sizeof *n);
        if (!n) {
            errorNoMem(err, p->path);
            return NULL;
        }
        p->pre = n;
        p->cap_pre = cap;
    }
    PreStep *s = &p->pre[p->n_pre++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

static int compileInto(TokPipeline *p, Pattern *pat, const char *regex, Error *err)
{
    pat->kind = PAT_REGEX;
    pat->re = tokCompileRegex(regex, p->path, err);
    return pat->re ? 0 : -1;
}

static int setLiteral(TokPipeline *p, Pattern *pat, PatternKind kind, const char *s, size_t len,
                      Error *err)
{
    pat->kind = kind;
    pat->lit = malloc(len + 1);
    if (!pat->lit) return errorNoMem(err, p->path);
    memcpy(pat->lit, s, len);
    pat->lit[len] = 0;
    pat->lit_len = len;
    return 0;
}

/* {"String": "..."} or {"Regex": "..."}, as Split and Replace write it. */
static int parsePattern(TokPipeline *p, json_t *n, const char *what, Pattern *pat, Error *err)
{
    json_t *spec = json_object_get(n, "pattern");
    json_t *rx = json_object_get(spec, "Regex"), *str = json_object_get(spec, "String");
    if (json_is_string(rx)) return compileInto(p, pat, json_string_value(rx), err);
    if (json_is_string(str))
        return setLiteral(p, pat, PAT_STRING, json_string_value(str), json_string_length(str), err);
    return errorSet(err, EXIT_INPUT, "%s: %s without a String or Regex pattern", p->path, what);
}

static int stringMember(TokPipeline *p, json_t *n, const char *key, const char *what, char **out,
                        Error *err)
{
    json_t *v = json_object_get(n, key);
    if (!json_is_string(v))
        return errorSet(err, EXIT_INPUT, "%s: %s without a \"%s\" string", p->path, what, key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return errorSet(err, EXIT_INPUT, "%s: %s \"%s\" contains a NUL character", p->path, what, key);
    *out = strdup(json_string_value(v));
    return *out ? 0 : errorNoMem(err, p->path);
}

static int parseNormalizer(TokPipeline *p, json_t *n, int depth, Error *err)
{
    if (!n || json_is_null(n)) return 0;
    const char *type = typeOf(n);
    if (!type) return errorSet(err, EXIT_INPUT, "%s: normalizer without a type", p->path);
    if (depth > 16) return errorSet(err, EXIT_INPUT, "%s: normalizers nested too deeply", p->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers");
        if (!json_is_array(list))
            return errorSet(err, EXIT_INPUT, "%s: normalizer Sequence without a normalizers list", p->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (parseNormalizer(p, item, depth + 1, err)) return -1;
        return 0;
    }
    static const struct {
        const char *name;
        int flags;
    } unicode[] = {
        {"NFC", UTF8PROC_STABLE | UTF8PROC_COMPOSE},
        {"NFD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE},
        {"NFKC", UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
        {"NFKD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT},
    };
    for (size_t i = 0; i < sizeof unicode / sizeof unicode[0]; i++)
        if (!strcmp(type, unicode[i].name)) {
            NormStep *s = addNorm(p, NORM_UNICODE, err);
            if (!s) return -1;
            s->uflags = unicode[i].flags;
            return 0;
        }
    if (!strcmp(type, "Lowercase")) return addNorm(p, NORM_LOWERCASE, err) ? 0 : -1;
    if (!strcmp(type, "StripAccents")) return addNorm(p, NORM_STRIP_ACCENTS, err) ? 0 : -1;
    if (!strcmp(type, "Strip")) {
        NormStep *s = addNorm(p, NORM_STRIP, err);
        if (!s) return -1;
        s->left = boolOr(n, "strip_left", true);
        s->right = boolOr(n, "strip_right", true);
        return 0;
    }
    if (!strcmp(type, "Replace")) {
        NormStep *s = addNorm(p, NORM_REPLACE, err);
        if (!s) return -1;
        if (parsePattern(p, n, "normalizer Replace", &s->pat, err)) return -1;
        return stringMember(p, n, "content", "normalizer Replace", &s->text, err);
    }
    if (!strcmp(type, "Prepend")) {
        NormStep *s = addNorm(p, NORM_PREPEND, err);
        if (!s) return -1;
        return stringMember(p, n, "prepend", "normalizer Prepend", &s->text, err);
    }
    if (!strcmp(type, "BertNormalizer")) {
        /* Its four parts in Hugging Face's order, as separate steps. */
        bool clean = boolOr(n, "clean_text", true), chinese = boolOr(n, "handle_chinese_chars", true);
        bool lower = boolOr(n, "lowercase", true);
        bool strip = boolOr(n, "strip_accents", lower); /* null: as lowercase */
        if (clean || chinese) {
            NormStep *s = addNorm(p, NORM_BERT_CLEAN, err);
            if (!s) return -1;
            s->clean_text = clean;
            s->chinese_chars = chinese;
        }
        if (strip) {
            NormStep *s = addNorm(p, NORM_UNICODE, err);
            if (!s) return -1;
            s->uflags = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
            if (!addNorm(p, NORM_STRIP_MN, err)) return -1;
        }
        return lower && !addNorm(p, NORM_LOWERCASE, err) ? -1 : 0;
    }
    if (!strcmp(type, "Precompiled"))
        return errorSet(err, EXIT_INPUT,
                        "%s: normalizer 'Precompiled' (SentencePiece's compiled normalization rules) is not supported",
                        p->path);
    return errorSet(err, EXIT_INPUT, "%s: normalizer '%s' is not supported", p->path, type);
}

static int parseBehavior(TokPipeline *p, json_t *n, const char *what, Behavior dflt, Behavior *out,
                         Error *err)
{
    json_t *b = json_object_get(n, "behavior");
    *out = dflt;
    if (!b || json_is_null(b)) return 0;
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                        "Contiguous"};
    if (json_is_string(b))
        for (int i = 0; i < 5; i++)
            if (!strcmp(json_string_value(b), names[i])) {
                *out = (Behavior)i;
                return 0;
            }
    return errorSet(err, EXIT_INPUT, "%s: %s has an unknown behavior", p->path, what);
}

static int addCharSplit(TokPipeline *p, PatternKind kind, Behavior behavior, Error *err)
{
    PreStep *s = addPre(p, PRE_SPLIT, err);
    if (!s) return -1;
    s->pat.kind = kind;
    s->behavior = behavior;
    return 0;
}

static int parsePreTokenizer(TokPipeline *p, json_t *n, int depth, Error *err)
{
    if (!n || json_is_null(n)) return 0;
    const char *type = typeOf(n);
    if (!type) return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer without a type", p->path);
    if (depth > 16) return errorSet(err, EXIT_INPUT, "%s: pre-tokenizers nested too deeply", p->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "pretokenizers");
        if (!json_is_array(list))
            return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer Sequence without a pretokenizers list", p->path);
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) if (parsePreTokenizer(p, item, depth + 1, err)) return -1;
        return 0;
    }
    if (!strcmp(type, "Split")) {
        PreStep *s = addPre(p, PRE_SPLIT, err);
        if (!s) return -1;
        if (parsePattern(p, n, "pre-tokenizer Split", &s->pat, err)) return -1;
        s->pat.invert = boolOr(n, "invert", false);
        json_t *b = json_object_get(n, "behavior");
        if (!json_is_string(b))
            return errorSet(err, EXIT_INPUT, "%s: pre-tokenizer Split without a behavior", p->path);
        return parseBehavior(p, n, "pre-tokenizer Split", BEHAVIOR_ISOLATED, &s->behavior, err);
    }
    if (!strcmp(type, "ByteLevel")) {
        PreStep *s = addPre(p, PRE_BYTE_LEVEL, err);
        if (!s) return -1;
        s->add_prefix_space = boolOr(n, "add_prefix_space", true);
        s->use_regex = boolOr(n, "use_regex", true);
        return s->use_regex ? compileInto(p, &s->pat, GPT2_PATTERN, err) : 0;
    }
    if (!strcmp(type, "Metaspace")) {
        PreStep *s = addPre(p, PRE_METASPACE, err);
        if (!s) return -1;
        json_t *rep = json_object_get(n, "replacement");
        const char *r = json_is_string(rep) ? json_string_value(rep) : "\xE2\x96\x81";
        size_t rl = strlen(r);
        if (!rl || utf8proc_iterate((const uint8_t *)r, (utf8proc_ssize_t)rl, &(utf8proc_int32_t){0}) !=
                       (utf8proc_ssize_t)rl)
            return errorSet(err, EXIT_INPUT, "%s: Metaspace replacement must be one character", p->path);
        s->rep = strdup(r);
        if (!s->rep) return errorNoMem(err, p->path);
        s->rep_len = rl;
        s->split = boolOr(n, "split", true);
        s->scheme = boolOr(n, "add_prefix_space", true) ? PREPEND_ALWAYS : PREPEND_NEVER;
        json_t *scheme = json_object_get(n, "prepend_scheme");
        if (json_is_string(scheme)) {
            const char *sc = json_string_value(scheme);
            if (!strcmp(sc, "always")) s->scheme = PREPEND_ALWAYS;
            else if (!strcmp(sc, "first")) s->scheme = PREPEND_FIRST;
            else if (!strcmp(sc, "never")) s->scheme = PREPEND_NEVER;
            else return errorSet(err, EXIT_INPUT, "%s: unknown Metaspace prepend_scheme '%s'", p->path, sc);
        }
        return 0;
    }
    if (!strcmp(type, "Whitespace")) {
        PreStep *s = addPre(p, PRE_SPLIT, err);
        if (!s) return -1;
        s->behavior = BEHAVIOR_REMOVED;
        s->pat.invert = true;
        return compileInto(p, &s->pat, WHITESPACE_PATTERN, err);
    }
    if (!strcmp(type, "WhitespaceSplit")) return addCharSplit(p, PAT_WHITESPACE, BEHAVIOR_REMOVED, err);
    if (!strcmp(type, "Punctuation")) {
        Behavior b;
        if (parseBehavior(p, n, "pre-tokenizer Punctuation", BEHAVIOR_ISOLATED, &b, err)) return -1;
        return addCharSplit(p, PAT_PUNCTUATION, b, err);
    }
    if (!strcmp(type, "Digits"))
        return addCharSplit(p, PAT_NUMERIC,
                            boolOr(n, "individual_digits", false) ? BEHAVIOR_ISOLATED : BEHAVIOR_CONTIGUOUS, err);
    if (!strcmp(type, "BertPreTokenizer")) {
        if (addCharSplit(p, PAT_WHITESPACE, BEHAVIOR_REMOVED, err)) return -1;
        return addCharSplit(p, PAT_PUNCTUATION, BEHAVIOR_ISOLATED, err);
    }
    if (!strcmp(type, "CharDelimiterSplit")) {
        json_t *d = json_object_get(n, "delimiter");
        const char *c = json_is_string(d) ? json_string_value(d) : "";
        size_t cl = strlen(c);
        if (!cl || utf8proc_iterate((const uint8_t *)c, (utf8proc_ssize_t)cl, &(utf8proc_int32_t){0}) !=
                       (utf8proc_ssize_t)cl)
            return errorSet(err, EXIT_INPUT, "%s: CharDelimiterSplit delimiter must be one character", p->path);
        PreStep *s = addPre(p, PRE_SPLIT, err);
        if (!s) return -1;
        s->behavior = BEHAVIOR_REMOVED;
        return setLiteral(p, &s->pat, PAT_CHAR, c, cl, err);
    }
    return errorSet(err, EXIT_INPUT, "%s: pre_tokenizer '%s' is not supported", p->path, type);
}

int tokPipelineParse(const char *path, json_t *normalizer, json_t *pre_tokenizer, TokPipeline **out,
                     Error *err)
{
    *out = NULL;
    TokPipeline *p = calloc(1, sizeof *p);
    if (!p) return errorNoMem(err, path);
    p->path = path;
    if (parseNormalizer(p, normalizer, 0, err) || parsePreTokenizer(p, pre_tokenizer, 0, err)) {
        tokPipelineFree(p);
        return -1;
    }
    p->path = NULL; /* the reader's string: not kept past parsing */
    *out = p;
    return 0;
}

/* ---- scratch ---- */

int tokScratchInit(TokScratch *sc, Error *err)
{
    memset(sc, 0, sizeof *sc);
    sc->md = pcre2_match_data_create(4, NULL);
    sc->mctx = pcre2_match_context_create(NULL);
    /* Long runs of one class can outgrow the JIT's default 32 KiB stack. */
    sc->jit = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!sc->md || !sc->mctx || !sc->jit) {
        tokScratchFree(sc);
        return errorNoMem(err, "tokenizer");
    }
    pcre2_jit_stack_assign(sc->mctx, NULL, sc->jit);
    return 0;
}

void tokScratchFree(TokScratch *sc)
{
    if (sc->jit) pcre2_jit_stack_free(sc->jit);
    if (sc->mctx) pcre2_match_context_free(sc->mctx);
    if (sc->md) pcre2_match_data_free(sc->md);
    free(sc->norm[0]);
    free(sc->norm[1]);
    free(sc->arena);
    free(sc->list[0].v);
    free(sc->list[1].v);
    free(sc->ranges);
    memset(sc, 0, sizeof *sc);
}

static int grow(char **p, size_t *cap, size_t need, Error *err)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *q = realloc(*p, c);
    if (!q) return errorNoMem(err, "tokenizer");
    *p = q;
    *cap = c;
    return 0;
}

static int addRange(TokScratch *sc, size_t start, size_t end, bool match, Error *err)
{
    if (sc->n_ranges == sc->ranges_cap) {
        size_t c = sc->ranges_cap ? 2 * sc->ranges_cap : 256;
        TokRange *r = realloc(sc->ranges, c * sizeof *r);
        if (!r) return errorNoMem(err, "tokenizer");
        sc->ranges = r;
        sc->ranges_cap = c;
    }
    sc->ranges[sc->n_ranges++] = (TokRange){start, end, match};
    return 0;
}

/* ---- characters ---- */

static size_t charLen(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* The text is valid UTF-8 (checked on entry), so decoding cannot fail. */
static int32_t decode(const char *s, size_t len, size_t *n)
{
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s, (utf8proc_ssize_t)len, &cp);
    *n = k > 0 ? (size_t)k : 1;
    return k > 0 ? cp : 0xFFFD;
}

static bool isWhiteSpace(int32_t c)
{
    return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static bool isPunctuation(int32_t c)
{
    if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static bool isNumeric(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

static bool isMark(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

/* ---- matching: the text cut into matches and the stretches between them ---- */

static int findRegex(const Pattern *pat, TokScratch *sc, const char *s, size_t len, Error *err)
{
    /* Matches as the regex engines' find_iter yields them: an empty match
     * right where the previous match ended is skipped. */
    size_t pos = 0, prev = 0;
    bool have_last = false;
    size_t last_end = 0;
    while (pos <= len) {
        int rc = pcre2_match(pat->re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK, sc->md, sc->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return errorSet(err, EXIT_RUNTIME, "pre-tokenizer regex failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
        size_t ms = ov[0], me = ov[1];
        if (ms == me && have_last && last_end == me) {
            if (ms >= len) break;
            pos = ms + charLen((unsigned char)s[ms]);
            continue;
        }
        if (prev != ms && addRange(sc, prev, ms, false, err)) return -1;
        if (addRange(sc, ms, me, true, err)) return -1;
        prev = me;
        have_last = true;
        last_end = me;
        if (me == ms) {
            if (me >= len) break;
            pos = me; /* tried again here, then skipped as adjacent */
        } else {
            pos = me;
        }
    }
    if (prev != len && addRange(sc, prev, len, false, err)) return -1;
    return 0;
}

static int findString(const Pattern *pat, TokScratch *sc, const char *s, size_t len, Error *err)
{
    if (!pat->lit_len) return addRange(sc, 0, len, false, err);
    size_t prev = 0, pos = 0;
    while (pos + pat->lit_len <= len) {
        const char *hit = memmem(s + pos, len - pos, pat->lit, pat->lit_len);
        if (!hit) break;
        size_t ms = (size_t)(hit - s), me = ms + pat->lit_len;
        if (prev != ms && addRange(sc, prev, ms, false, err)) return -1;
        if (addRange(sc, ms, me, true, err)) return -1;
        prev = pos = me;
    }
    if (prev != len && addRange(sc, prev, len, false, err)) return -1;
    return 0;
}

static int findChars(const Pattern *pat, TokScratch *sc, const char *s, size_t len, Error *err)
{
    size_t prev = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        int32_t c = decode(s + i, len - i, &n);
        bool hit;
        switch (pat->kind) {
        case PAT_WHITESPACE: hit = isWhiteSpace(c); break;
        case PAT_PUNCTUATION: hit = isPunctuation(c); break;
        case PAT_NUMERIC: hit = isNumeric(c); break;
        default: hit = n == pat->lit_len && !memcmp(s + i, pat->lit, n); break;
        }
        if (hit) {
            if (prev < i && addRange(sc, prev, i, false, err)) return -1;
            if (addRange(sc, i, i + n, true, err)) return -1;
            prev = i + n;
        }
        i += n;
    }
    if (prev < len && addRange(sc, prev, len, false, err)) return -1;
    return 0;
}

/* Fills sc->ranges with s cut by pat, covering all of s in order. */
static int findMatches(const Pattern *pat, TokScratch *sc, const char *s, size_t len, Error *err)
{
    sc->n_ranges = 0;
    if (!len) return addRange(sc, 0, 0, false, err);
    int rc = pat->kind == PAT_REGEX    ? findRegex(pat, sc, s, len, err)
             : pat->kind == PAT_STRING ? findString(pat, sc, s, len, err)
                                       : findChars(pat, sc, s, len, err);
    if (rc) return rc;
    if (pat->invert)
        for (size_t i = 0; i < sc->n_ranges; i++) sc->ranges[i].match = !sc->ranges[i].match;
    return 0;
}

/* Rewrites sc->ranges in place into the pieces to keep (match = removed). */
static void applyBehavior(TokScratch *sc, Behavior b)
{
    TokRange *r = sc->ranges;
    size_t n = sc->n_ranges, o = 0;
    bool prev_match = false;
    switch (b) {
    case BEHAVIOR_REMOVED: return;
    case BEHAVIOR_ISOLATED:
        for (size_t i = 0; i < n; i++) r[i].match = false;
        return;
    case BEHAVIOR_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            bool m = r[i].match;
            if (m == prev_match && o) r[o - 1].end = r[i].end;
            else r[o++] = (TokRange){r[i].start, r[i].end, false};
            prev_match = m;
        }
        break;
    case BEHAVIOR_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < n; i++) {
            bool m = r[i].match;
            if (m && !prev_match && o) r[o - 1].end = r[i].end;
            else r[o++] = (TokRange){r[i].start, r[i].end, false};
            prev_match = m;
        }
        break;
    case BEHAVIOR_MERGED_WITH_NEXT: {
        /* The same fold from the right: kept pieces gather at the end. */
        size_t w = n;
        for (size_t i = n; i-- > 0;) {
            bool m = r[i].match;
            if (m && !prev_match && w < n) r[w].start = r[i].start;
            else r[--w] = (TokRange){r[i].start, r[i].end, false};
            prev_match = m;
        }
        memmove(r, r + w, (n - w) * sizeof *r);
        o = n - w;
        break;
    }
    }
    sc->n_ranges = o;
}

/* ---- normalizers ---- */

static int normUnicode(const NormStep *st, const char *s, size_t len, char **out, size_t *cap,
                       size_t *n, Error *err)
{
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      (utf8proc_option_t)st->uflags);
    if (r < 0) {
        free(dst);
        if (r == UTF8PROC_ERROR_NOMEM) return errorNoMem(err, "tokenizer");
        return errorSet(err, EXIT_INPUT, "text cannot be normalized: %s", utf8proc_errmsg(r));
    }
    if (grow(out, cap, (size_t)r + 1, err)) {
        free(dst);
        return -1;
    }
    memcpy(*out, dst, (size_t)r);
    *n = (size_t)r;
    free(dst);
    return 0;
}

static size_t putChar(char *o, int32_t c)
{
    return (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)o);
}

static bool isChineseChar(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Character by character rewrites: Lowercase, StripAccents, BertNormalizer's
 * cleaning, Chinese padding and lowercasing (accents go in a separate NFD pass). */
static int normChars(const NormStep *st, const char *s, size_t len, char **out, size_t *cap, size_t *n,
                     Error *err)
{
    /* At most three characters of four bytes for each input byte. */
    if (grow(out, cap, 12 * len + 1, err)) return -1;
    char *o = *out;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t cl;
        int32_t c = decode(s + i, len - i, &cl);
        i += cl;
        if (st->kind == NORM_STRIP_ACCENTS) {
            if (!isMark(c)) k += putChar(o + k, c);
            continue;
        }
        if (st->kind == NORM_STRIP_MN) {
            if (utf8proc_category(c) != UTF8PROC_CATEGORY_MN) k += putChar(o + k, c);
            continue;
        }
        if (st->kind == NORM_BERT_CLEAN) {
            if (st->clean_text) {
                /* Controls (C*, but tab, newline, CR) go, then white space becomes a space. */
                if (c == 0 || c == 0xFFFD) continue;
                utf8proc_category_t cat = utf8proc_category(c);
                /* Unassigned code points (Cn) stay, as in Hugging Face's tables. */
                bool control = c != '\t' && c != '\n' && c != '\r' &&
                               (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                                cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS);
                if (control) continue;
                if (isWhiteSpace(c)) c = ' ';
            }
            if (st->chinese_chars && isChineseChar(c)) {
                o[k++] = ' ';
                k += putChar(o + k, c);
                o[k++] = ' ';
            } else {
                k += putChar(o + k, c);
            }
            continue;
        }
        /* Lowercase: Unicode's simple mapping, except the one unconditional
         * one-to-many mapping (U+0130 to i + combining dot), as Rust's to_lowercase. */
        if (c == 0x130) {
            k += putChar(o + k, 'i');
            k += putChar(o + k, 0x307);
        } else {
            k += putChar(o + k, utf8proc_tolower(c));
        }
    }
    *n = k;
    return 0;
}

static int normReplace(const NormStep *st, TokScratch *sc, const char *s, size_t len, char **out,
                       size_t *cap, size_t *n, Error *err)
{
    if (findMatches(&st->pat, sc, s, len, err)) return -1;
    size_t tl = strlen(st->text), need = 1;
    for (size_t i = 0; i < sc->n_ranges; i++)
        need += sc->ranges[i].match ? tl : sc->ranges[i].end - sc->ranges[i].start;
    if (grow(out, cap, need, err)) return -1;
    size_t k = 0;
    for (size_t i = 0; i < sc->n_ranges; i++) {
        const TokRange *r = &sc->ranges[i];
        if (r->match) {
            memcpy(*out + k, st->text, tl);
            k += tl;
        } else {
            memcpy(*out + k, s + r->start, r->end - r->start);
            k += r->end - r->start;
        }
    }
    *n = k;
    return 0;
}

int tokPipelineNormalize(const TokPipeline *p, TokScratch *sc, const char *s, size_t len,
                         const char **out, size_t *out_len, Error *err)
{
    const char *cur = s;
    size_t n = len;
    int side = 0;
    for (int i = 0; i < p->n_norm; i++) {
        const NormStep *st = &p->norm[i];
        char **dst = &sc->norm[side];
        size_t *cap = &sc->norm_cap[side], m = 0;
        int rc = 0;
        switch (st->kind) {
        case NORM_UNICODE: rc = normUnicode(st, cur, n, dst, cap, &m, err); break;
        case NORM_LOWERCASE:
        case NORM_STRIP_ACCENTS:
        case NORM_BERT_CLEAN:
        case NORM_STRIP_MN: rc = normChars(st, cur, n, dst, cap, &m, err); break;
        case NORM_STRIP: {
            size_t a = 0, b = n, cl;
            while (st->left && a < b && isWhiteSpace(decode(cur + a, b - a, &cl))) a += cl;
            while (st->right && b > a) {
                size_t q = b - 1;
                while (q > a && ((unsigned char)cur[q] & 0xC0) == 0x80) q--;
                if (!isWhiteSpace(decode(cur + q, b - q, &cl))) break;
                b = q;
            }
            if ((rc = grow(dst, cap, b - a + 1, err))) break;
            memmove(*dst, cur + a, b - a);
            m = b - a;
            break;
        }
        case NORM_REPLACE: rc = normReplace(st, sc, cur, n, dst, cap, &m, err); break;
        case NORM_PREPEND: {
            size_t tl = n ? strlen(st->text) : 0; /* an empty text gets nothing */
            if ((rc = grow(dst, cap, tl + n + 1, err))) break;
            memcpy(*dst, st->text, tl);
            memcpy(*dst + tl, cur, n);
            m = tl + n;
            break;
        }
        }
        if (rc) return -1;
        cur = *dst;
        n = m;
        side = !side;
    }
    *out = cur;
    *out_len = n;
    return 0;
}

/* ---- pre-tokenizers ---- */

static int pushPiece(TokPieceList *l, size_t off, size_t len, bool origin, Error *err)
{
    if (!len) return 0; /* empty pieces are dropped, as Hugging Face does */
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 256;
        TokPiece *v = realloc(l->v, c * sizeof *v);
        if (!v) return errorNoMem(err, "tokenizer");
        l->v = v;
        l->cap = c;
    }
    l->v[l->n++] = (TokPiece){off, len, origin};
    return 0;
}

/* Appends bytes to the arena and returns their offset through *off. */
static int arenaPut(TokScratch *sc, const char *s, size_t len, size_t *off, Error *err)
{
    if (grow(&sc->arena, &sc->arena_cap, sc->arena_n + len + 1, err)) return -1;
    memcpy(sc->arena + sc->arena_n, s, len);
    *off = sc->arena_n;
    sc->arena_n += len;
    return 0;
}

/* Cuts the piece by pat and behavior into `to`. */
static int splitPiece(TokScratch *sc, const Pattern *pat, Behavior b, TokPiece pc, TokPieceList *to,
                      Error *err)
{
    if (findMatches(pat, sc, sc->arena + pc.off, pc.len, err)) return -1;
    applyBehavior(sc, b);
    for (size_t i = 0; i < sc->n_ranges; i++) {
        const TokRange *r = &sc->ranges[i];
        if (r->match) continue;
        if (pushPiece(to, pc.off + r->start, r->end - r->start, pc.origin && r->start == 0, err)) return -1;
    }
    return 0;
}

static int byteLevelPiece(TokScratch *sc, const PreStep *st, TokPiece pc, TokPieceList *to, Error *err)
{
    if (st->add_prefix_space && sc->arena[pc.off] != ' ') {
        size_t off;
        if (grow(&sc->arena, &sc->arena_cap, sc->arena_n + pc.len + 2, err)) return -1;
        sc->arena[sc->arena_n] = ' ';
        memcpy(sc->arena + sc->arena_n + 1, sc->arena + pc.off, pc.len);
        off = sc->arena_n;
        sc->arena_n += pc.len + 1;
        pc.off = off;
        pc.len++;
    }
    size_t first = to->n;
    if (st->use_regex) {
        if (splitPiece(sc, &st->pat, BEHAVIOR_ISOLATED, pc, to, err)) return -1;
    } else if (pushPiece(to, pc.off, pc.len, pc.origin, err)) {
        return -1;
    }
    /* Each byte becomes its character in GPT-2's byte alphabet. */
    for (size_t k = first; k < to->n; k++) {
        TokPiece *q = &to->v[k];
        if (grow(&sc->arena, &sc->arena_cap, sc->arena_n + 2 * q->len + 1, err)) return -1;
        size_t off = sc->arena_n;
        for (size_t i = 0; i < q->len; i++) {
            char c[3];
            tokenizerByteChar((unsigned char)sc->arena[q->off + i], c);
            sc->arena[sc->arena_n++] = c[0];
            if (c[1]) sc->arena[sc->arena_n++] = c[1];
        }
        q->off = off;
        q->len = sc->arena_n - off;
    }
    return 0;
}

static int metaspacePiece(TokScratch *sc, const PreStep *st, TokPiece pc, TokPieceList *to, Error *err)
{
    size_t spaces = 0;
    for (size_t i = 0; i < pc.len; i++) spaces += sc->arena[pc.off + i] == ' ';
    if (grow(&sc->arena, &sc->arena_cap, sc->arena_n + (spaces + 1) * st->rep_len + pc.len + 1, err))
        return -1;
    const char *src = sc->arena + pc.off;
    char *o = sc->arena + sc->arena_n;
    size_t k = 0;
    bool starts = pc.len >= 1 && src[0] == ' ';
    if (!starts && pc.len >= st->rep_len && !memcmp(src, st->rep, st->rep_len)) starts = true;
    if (!starts && (st->scheme == PREPEND_ALWAYS || (st->scheme == PREPEND_FIRST && pc.origin))) {
        memcpy(o, st->rep, st->rep_len);
        k += st->rep_len;
    }
    for (size_t i = 0; i < pc.len; i++) {
        if (src[i] == ' ') {
            memcpy(o + k, st->rep, st->rep_len);
            k += st->rep_len;
        } else {
            o[k++] = src[i];
        }
    }
    TokPiece q = {sc->arena_n, k, pc.origin};
    sc->arena_n += k;
    if (!st->split) return pushPiece(to, q.off, q.len, q.origin, err);
    Pattern rep = {.kind = PAT_STRING, .lit = st->rep, .lit_len = st->rep_len};
    return splitPiece(sc, &rep, BEHAVIOR_MERGED_WITH_NEXT, q, to, err);
}

int tokPipelinePreTokenize(const TokPipeline *p, TokScratch *sc, const char *s, size_t len,
                           bool origin, const TokPiece **pieces, size_t *n, Error *err)
{
    sc->arena_n = 0;
    sc->list[0].n = 0;
    size_t off;
    if (arenaPut(sc, s, len, &off, err) || pushPiece(&sc->list[0], off, len, origin, err)) return -1;
    int cur = 0;
    for (int i = 0; i < p->n_pre; i++) {
        const PreStep *st = &p->pre[i];
        TokPieceList *from = &sc->list[cur], *to = &sc->list[!cur];
        to->n = 0;
        for (size_t k = 0; k < from->n; k++) {
            TokPiece pc = from->v[k];
            int rc = st->kind == PRE_SPLIT        ? splitPiece(sc, &st->pat, st->behavior, pc, to, err)
                     : st->kind == PRE_BYTE_LEVEL ? byteLevelPiece(sc, st, pc, to, err)
                                                  : metaspacePiece(sc, st, pc, to, err);
            if (rc) return -1;
        }
        cur = !cur;
    }
    *pieces = sc->list[cur].v;
    *n = sc->list[cur].n;
    return 0;
}
