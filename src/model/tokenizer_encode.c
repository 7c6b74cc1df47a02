/* Text to token ids: added tokens, pre-tokenization, BPE merging. */
#include "model/tokenizer_impl.h"
#include "model/tokenizer_pipeline.h"

#include <stdlib.h>
#include <string.h>

/* Pieces up to this many bytes are remembered within one encode call: words
 * repeat, merging them again is what costs. */
enum { CACHE_MAX_PIECE = 255, CACHE_MAX_ENTRIES = 1 << 20 };

typedef struct CacheSlot {
    uint32_t hash;
    uint32_t key_len; /* 0: empty */
    size_t key_off;   /* into keys */
    size_t ids_off;   /* into ids */
    uint32_t n_ids;
} CacheSlot;

typedef struct Cache {
    CacheSlot *slot;
    size_t cap, used;
    char *keys;
    size_t keys_n, keys_cap;
    int32_t *ids;
    size_t ids_n, ids_cap;
} Cache;

typedef struct HeapItem {
    /* High half: the rank, or the score flipped so that higher scores sort
     * first; low half: the left symbol's index, so ties go to the left. */
    uint64_t key;
    int32_t right;
    int32_t a, b, merged;
} HeapItem;

static int32_t heapLeft(const HeapItem *it) { return (int32_t)(uint32_t)it->key; }

typedef struct Work {
    const Tokenizer *t;
    Error *err;
    int32_t *out;
    size_t n_out, cap_out;
    int32_t *sym, *prev, *next; /* the word being merged, as a linked list */
    size_t sym_cap;
    HeapItem *heap;
    size_t heap_n, heap_cap;
    char *buf; /* normalized segment / prefixed piece */
    size_t buf_cap;
    char *cat; /* two token strings joined (merging by score) */
    size_t cat_cap;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    pcre2_code *word_re; /* single_word checks, compiled when first needed */
    char *affix; /* a character with the model's subword prefix / word suffix */
    size_t affix_cap;
    TokScratch sc; /* the pipeline's buffers (tokenizer.json) */
    bool have_sc;
    Cache cache;
} Work;

static int growBytes(char **p, size_t *cap, size_t need, Work *w)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *q = realloc(*p, c);
    if (!q) return errorNoMem(w->err, "tokenizer");
    *p = q;
    *cap = c;
    return 0;
}

static int emit(Work *w, int32_t id)
{
    if (w->n_out == w->cap_out) {
        size_t c = w->cap_out ? 2 * w->cap_out : 4096;
        int32_t *q = realloc(w->out, c * sizeof *q);
        if (!q) return errorNoMem(w->err, "tokenizer");
        w->out = q;
        w->cap_out = c;
    }
    w->out[w->n_out++] = id;
    return 0;
}

static int reserveSymbols(Work *w, size_t n)
{
    if (n <= w->sym_cap) return 0;
    size_t c = w->sym_cap ? w->sym_cap : 64;
    while (c < n) c *= 2;
    if (c > INT32_MAX) return errorSet(w->err, EXIT_INPUT, "text piece too long (%zu bytes)", n);
    int32_t *s = realloc(w->sym, c * sizeof *s);
    if (s) w->sym = s;
    int32_t *p = realloc(w->prev, c * sizeof *p);
    if (p) w->prev = p;
    int32_t *x = realloc(w->next, c * sizeof *x);
    if (x) w->next = x;
    HeapItem *h = realloc(w->heap, c * sizeof *h);
    if (h) w->heap = h;
    if (!s || !p || !x || !h) return errorNoMem(w->err, "tokenizer");
    w->sym_cap = w->heap_cap = c;
    return 0;
}

/* ---- the cache ---- */

static const int32_t *cacheGet(const Cache *c, const char *s, size_t len, uint32_t h, uint32_t *n)
{
    if (!c->cap) return NULL;
    size_t mask = c->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const CacheSlot *e = &c->slot[i];
        if (!e->key_len) return NULL;
        if (e->hash == h && e->key_len == len && !memcmp(c->keys + e->key_off, s, len)) {
            *n = e->n_ids;
            return c->ids + e->ids_off;
        }
    }
}

/* Remembering is best effort: when memory runs short the cache stops growing. */
static void cachePut(Cache *c, const char *s, size_t len, uint32_t h, const int32_t *ids, size_t n)
{
    if (c->used >= CACHE_MAX_ENTRIES || !len) return;
    if (2 * (c->used + 1) > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        CacheSlot *slot = calloc(cap, sizeof *slot);
        if (!slot) return;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slot[i].key_len) continue;
            size_t j = c->slot[i].hash & (cap - 1);
            while (slot[j].key_len) j = (j + 1) & (cap - 1);
            slot[j] = c->slot[i];
        }
        free(c->slot);
        c->slot = slot;
        c->cap = cap;
    }
    if (c->keys_n + len > c->keys_cap) {
        size_t cap = c->keys_cap ? c->keys_cap : 1 << 16;
        while (cap < c->keys_n + len) cap *= 2;
        char *k = realloc(c->keys, cap);
        if (!k) return;
        c->keys = k;
        c->keys_cap = cap;
    }
    if (c->ids_n + n > c->ids_cap) {
        size_t cap = c->ids_cap ? c->ids_cap : 1 << 14;
        while (cap < c->ids_n + n) cap *= 2;
        int32_t *v = realloc(c->ids, cap * sizeof *v);
        if (!v) return;
        c->ids = v;
        c->ids_cap = cap;
    }
    size_t i = h & (c->cap - 1);
    while (c->slot[i].key_len) i = (i + 1) & (c->cap - 1);
    /* An empty piece or result may come with no buffer yet (NULL + 0 is undefined). */
    if (len) memcpy(c->keys + c->keys_n, s, len);
    if (n) memcpy(c->ids + c->ids_n, ids, n * sizeof *ids);
    c->slot[i] = (CacheSlot){.hash = h, .key_len = (uint32_t)len, .key_off = c->keys_n,
                             .ids_off = c->ids_n, .n_ids = (uint32_t)n};
    c->keys_n += len;
    c->ids_n += n;
    c->used++;
}

static void cacheFree(Cache *c)
{
    free(c->slot);
    free(c->keys);
    free(c->ids);
}

/* ---- merging ---- */

static bool heapLess(const HeapItem *x, const HeapItem *y) { return x->key < y->key; }

/* Maps a float to a uint32 in the same order, then reverses it. */
static uint32_t scoreOrder(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ~u;
}

static void heapPush(Work *w, HeapItem it)
{
    size_t i = w->heap_n++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!heapLess(&it, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = it;
}

static HeapItem heapPop(Work *w)
{
    HeapItem top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heapLess(&w->heap[c + 1], &w->heap[c])) c++;
        if (!heapLess(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* Queues the pair (left, right) when the vocabulary can merge it. */
static int pushPair(Work *w, int32_t left, int32_t right)
{
    const Tokenizer *t = w->t;
    int32_t a = w->sym[left], b = w->sym[right], merged;
    uint32_t key;
    if (t->merge_order == TOKENIZER_MERGE_RANK) {
        int32_t rank;
        merged = tokPairLookup(t, a, b, &rank);
        if (merged < 0) return 0;
        key = (uint32_t)rank;
    } else {
        size_t la = t->tok_len[a], lb = t->tok_len[b];
        if (growBytes(&w->cat, &w->cat_cap, la + lb + 1, w)) return -1;
        memcpy(w->cat, t->tok[a], la);
        memcpy(w->cat + la, t->tok[b], lb);
        merged = tokLookup(t, w->cat, la + lb);
        /* llama2.c starts its search at -1e10 and takes only strictly better scores. */
        if (merged < 0 || !(t->score[merged] > -1e10f)) return 0;
        key = scoreOrder(t->score[merged]);
    }
    /* n - 1 initial pairs plus two per merge: the heap may outgrow n. */
    if (w->heap_n == w->heap_cap) {
        size_t c = 2 * w->heap_cap;
        HeapItem *h = realloc(w->heap, c * sizeof *h);
        if (!h) return errorNoMem(w->err, "tokenizer");
        w->heap = h;
        w->heap_cap = c;
    }
    heapPush(w, (HeapItem){.key = ((uint64_t)key << 32) | (uint32_t)left, .right = right, .a = a,
                           .b = b, .merged = merged});
    return 0;
}

/* Merges w->sym[0..n) and emits the result. Symbols never move, so a queued
 * pair is stale exactly when either side changed id or stopped being adjacent;
 * ids only ever grow longer, so a changed slot never returns to an old id. */
static int mergeAndEmit(Work *w, size_t n, int32_t **result, size_t *n_result)
{
    const Tokenizer *t = w->t;
    w->heap_n = 0;
    for (size_t i = 0; i < n; i++) {
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    bool can_merge = t->merge_order == TOKENIZER_MERGE_SCORE || t->n_merges > 0;
    if (can_merge)
        for (size_t i = 0; i + 1 < n; i++)
            if (pushPair(w, (int32_t)i, (int32_t)i + 1)) return -1;
    while (w->heap_n) {
        HeapItem it = heapPop(w);
        int32_t left = heapLeft(&it);
        if (w->sym[left] != it.a || w->next[left] != it.right || w->sym[it.right] != it.b) continue;
        w->sym[left] = it.merged;
        w->sym[it.right] = -1;
        int32_t after = w->next[it.right];
        w->next[left] = after;
        if (after >= 0) w->prev[after] = left;
        if (w->prev[left] >= 0 && pushPair(w, w->prev[left], left)) return -1;
        if (after >= 0 && pushPair(w, left, after)) return -1;
    }
    size_t start = w->n_out;
    for (int32_t i = n ? 0 : -1; i >= 0; i = w->next[i])
        if (emit(w, w->sym[i])) return -1;
    if (result) {
        *result = w->out ? w->out + start : NULL; /* nothing emitted yet: no buffer */
        *n_result = w->n_out - start;
    }
    return 0;
}

/* ---- characters ---- */

static size_t utf8Len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Returns the offset of the first invalid byte, or len when all is valid. */
static size_t utf8Check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (i + n > len) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

static uint32_t decodeAt(const unsigned char *s, size_t n)
{
    if (n == 1) return s[0];
    uint32_t cp = s[0] & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < n; k++) cp = (cp << 6) | (s[k] & 0x3F);
    return cp;
}

static bool isWhiteSpace(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Start of the character that ends at s[end]. */
static size_t prevChar(const char *s, size_t end)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i;
}

/* ---- pieces ---- */

/* Unknown characters: HF's BPE keeps one pending unk and only writes it
 * before the next known character (byte-fallback tokens do not flush it). */
typedef struct Unk {
    bool pending;
} Unk;

static int addUnknown(Work *w, Unk *u, size_t *n)
{
    const Tokenizer *t = w->t;
    if (t->unk < 0) return 0; /* no unk token: the character is dropped, as HF does */
    if (u->pending && !t->fuse_unk) w->sym[(*n)++] = t->unk;
    u->pending = true;
    return 0;
}

static void addKnown(Work *w, Unk *u, size_t *n, int32_t id)
{
    if (u->pending) {
        w->sym[(*n)++] = w->t->unk;
        u->pending = false;
    }
    w->sym[(*n)++] = id;
}

static void finishUnknown(Work *w, Unk *u, size_t *n)
{
    if (u->pending) w->sym[(*n)++] = w->t->unk;
}

/* One piece, through the cache: byte-level maps bytes to its 256 byte tokens,
 * SentencePiece maps characters to tokens (or byte fallback, or unk). */
static int encodePiece(Work *w, const char *p, size_t len)
{
    const Tokenizer *t = w->t;
    if (!len) return 0;
    uint32_t h = 0;
    bool cacheable = len <= CACHE_MAX_PIECE;
    if (cacheable) {
        uint32_t n;
        h = tokHash(p, len);
        const int32_t *ids = cacheGet(&w->cache, p, len, h, &n);
        if (ids) {
            for (uint32_t i = 0; i < n; i++)
                if (emit(w, ids[i])) return -1;
            return 0;
        }
    }
    /* Byte fallback may spell out a character's affixes too. */
    if (reserveSymbols(w, len * (1 + t->subword_prefix_len) + t->word_suffix_len + 1)) return -1;
    size_t n = 0;
    Unk unk = {false};
    if (t->kind == TOKENIZER_BYTE_BPE) {
        if (t->ignore_merges) {
            size_t need = 2 * len;
            if (growBytes(&w->buf, &w->buf_cap, need + 1, w)) return -1;
            size_t o = 0;
            for (size_t i = 0; i < len; i++) {
                char c[3];
                tokenizerByteChar((unsigned char)p[i], c);
                size_t l = strlen(c);
                memcpy(w->buf + o, c, l);
                o += l;
            }
            int32_t whole = tokLookup(t, w->buf, o);
            if (whole >= 0) {
                if (cacheable) cachePut(&w->cache, p, len, h, &whole, 1);
                return emit(w, whole);
            }
        }
        for (size_t i = 0; i < len; i++) {
            int32_t id = t->byte_id[(unsigned char)p[i]];
            if (id >= 0) addKnown(w, &unk, &n, id);
            else if (addUnknown(w, &unk, &n)) return -1;
        }
    } else {
        if (t->ignore_merges) {
            int32_t whole = tokLookup(t, p, len);
            if (whole >= 0) {
                if (cacheable) cachePut(&w->cache, p, len, h, &whole, 1);
                return emit(w, whole);
            }
        }
        for (size_t i = 0; i < len;) {
            size_t cl = utf8Len((unsigned char)p[i]);
            if (cl > len - i) cl = len - i;
            const char *c = p + i;
            size_t c_len = cl;
            if (t->subword_prefix || t->word_suffix) {
                /* HF's BPE: "##" before every character but the first, the
                 * suffix after the last. */
                size_t pre = i ? t->subword_prefix_len : 0, suf = i + cl == len ? t->word_suffix_len : 0;
                if (growBytes(&w->affix, &w->affix_cap, pre + cl + suf, w)) return -1;
                if (pre) memcpy(w->affix, t->subword_prefix, pre);
                memcpy(w->affix + pre, p + i, cl);
                if (suf) memcpy(w->affix + pre + cl, t->word_suffix, suf);
                c = w->affix;
                c_len = pre + cl + suf;
            }
            int32_t id = tokLookup(t, c, c_len);
            if (id >= 0) {
                addKnown(w, &unk, &n, id);
            } else {
                bool bytes = t->byte_fallback != TOKENIZER_BYTES_NONE;
                for (size_t k = 0; k < c_len && bytes; k++) bytes = t->byte_id[(unsigned char)c[k]] >= 0;
                if (bytes)
                    for (size_t k = 0; k < c_len; k++) w->sym[n++] = t->byte_id[(unsigned char)c[k]];
                else if (addUnknown(w, &unk, &n)) return -1;
            }
            i += cl;
        }
    }
    finishUnknown(w, &unk, &n);
    int32_t *ids;
    size_t n_ids;
    if (mergeAndEmit(w, n, &ids, &n_ids)) return -1;
    if (cacheable) cachePut(&w->cache, p, len, h, ids, n_ids);
    return 0;
}

static int matchAt(Work *w, pcre2_code *re, const char *s, size_t len, size_t off, size_t *ms,
                   size_t *me)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, off, PCRE2_NO_UTF_CHECK, w->md, w->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return errorSet(w->err, EXIT_RUNTIME, "pre-tokenizer regex failed: %s", (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

static int splitStage(Work *w, const char *s, size_t len, int stage);

static int userStages(const Tokenizer *t) { return t->n_re - (t->gpt2_re ? 1 : 0); }

/* ByteLevel: the prefix space, then GPT-2's pattern (when used). */
static int byteLevelStage(Work *w, const char *s, size_t len)
{
    const Tokenizer *t = w->t;
    char *copy = NULL;
    if (t->add_prefix_space && (len == 0 || s[0] != ' ')) {
        copy = malloc(len + 1);
        if (!copy) return errorNoMem(w->err, "tokenizer");
        copy[0] = ' ';
        memcpy(copy + 1, s, len);
        s = copy;
        len++;
    }
    int rc = t->gpt2_re ? splitStage(w, s, len, userStages(t)) : encodePiece(w, s, len);
    free(copy);
    return rc;
}

/* Where a piece cut by re[stage] goes next. */
static int afterStage(Work *w, const char *s, size_t len, int stage)
{
    int user = userStages(w->t);
    if (stage == user) return encodePiece(w, s, len); /* cut by GPT-2's pattern */
    if (stage + 1 < user) return splitStage(w, s, len, stage + 1);
    return byteLevelStage(w, s, len);
}

/* Splits by re[stage] into matches and the gaps between them (HF's
 * "Isolated" behaviour) and hands each on. */
static int splitStage(Work *w, const char *s, size_t len, int stage)
{
    size_t off = 0, done = 0, ms, me;
    bool matched = false;
    while (off <= len) {
        int m = matchAt(w, w->t->re[stage], s, len, off, &ms, &me);
        if (m < 0) return -1;
        if (!m) break;
        if (me == ms) {
            /* An empty match cuts the text there, unless it lies where the
             * previous match ended (the regex engines' find_iter skips it). */
            if (!(matched && done == ms)) {
                if (ms > done && afterStage(w, s + done, ms - done, stage)) return -1;
                done = ms;
                matched = true;
            }
            if (ms >= len) break;
            off = ms + utf8Len((unsigned char)s[ms]);
            continue;
        }
        if (ms > done && afterStage(w, s + done, ms - done, stage)) return -1;
        if (afterStage(w, s + ms, me - ms, stage)) return -1;
        done = off = me;
        matched = true;
    }
    if (done < len && afterStage(w, s + done, len - done, stage)) return -1;
    return 0;
}

/* A piece of a vocabulary that cannot merge across words (words_apart): cut
 * before each space mark that follows another character, encoded apart. */
static int encodeApart(Work *w, const char *s, size_t n, const char *sp)
{
    size_t sl = strlen(sp), start = 0;
    for (size_t i = 1; i + sl <= n; i++) {
        if (memcmp(s + i, sp, sl)) continue;
        if (i >= start + sl && !memcmp(s + i - sl, sp, sl)) continue; /* inside a run */
        if (encodePiece(w, s + start, i - start)) return -1;
        start = i;
        i += sl - 1;
    }
    return encodePiece(w, s + start, n - start);
}

/* SentencePiece normalization of one segment, then the pieces. */
static int spSegment(Work *w, const char *s, size_t len, bool at_start)
{
    const Tokenizer *t = w->t;
    if (!len) return 0;
    static const char ESC[] = "\xE2\x96\x81"; /* U+2581 */
    size_t spaces = 0;
    if (t->escape_spaces)
        for (size_t i = 0; i < len; i++) spaces += s[i] == ' ';
    size_t need = t->prefix_len + len + 2 * spaces + 1;
    if (growBytes(&w->buf, &w->buf_cap, need, w)) return -1;
    char *b = w->buf + t->prefix_len;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (t->escape_spaces && s[i] == ' ') {
            memcpy(b + o, ESC, 3);
            o += 3;
        } else {
            b[o++] = s[i];
        }
    }
    char *norm = b;
    size_t n = o;
    bool want = t->prefix && (!t->prefix_first_only || at_start);
    if (want && t->prefix_if_missing && o >= t->prefix_len && !memcmp(b, t->prefix, t->prefix_len))
        want = false;
    if (want) {
        memcpy(w->buf, t->prefix, t->prefix_len);
        norm = w->buf;
        n += t->prefix_len;
    }
    if (!t->split_on_space) {
        if (!t->words_apart) return encodePiece(w, norm, n);
        return encodeApart(w, norm, n, t->escape_spaces ? ESC : " ");
    }
    /* Metaspace split: every "▁" starts a new piece. buf is not touched by
     * encodePiece for sp-bpe, so the pieces can point into it. */
    size_t start = 0;
    for (size_t i = 1; i + 3 <= n; i++) {
        if (!memcmp(norm + i, ESC, 3)) {
            if (encodePiece(w, norm + start, i - start)) return -1;
            start = i;
            i += 2;
        }
    }
    return encodePiece(w, norm + start, n - start);
}

typedef int (*SegmentFn)(Work *w, const char *s, size_t len, bool at_start);

static int splitAdded(Work *w, const AddedSet *set, const char *text, size_t len, bool at_start,
                      SegmentFn fn);

/* A tokenizer.json pipeline's pieces of one stretch of normalized text. */
static int pipelinePieces(Work *w, const char *s, size_t len, bool origin)
{
    const TokPiece *pc;
    size_t n;
    if (!len) return 0;
    if (tokPipelinePreTokenize(w->t->pipeline, &w->sc, s, len, origin, &pc, &n, w->err)) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = w->sc.arena + pc[i].off;
        int rc = w->t->words_apart ? encodeApart(w, p, pc[i].len, "\xE2\x96\x81")
                                   : encodePiece(w, p, pc[i].len);
        if (rc) return -1;
    }
    return 0;
}

/* Hugging Face's order: normalize the stretch between raw-matched added
 * tokens, match the normalized added tokens in it, pre-tokenize what is left. */
static int pipelineSegment(Work *w, const char *s, size_t len, bool at_start)
{
    const char *norm;
    size_t n;
    if (!len) return 0;
    if (tokPipelineNormalize(w->t->pipeline, &w->sc, s, len, &norm, &n, w->err)) return -1;
    return splitAdded(w, &w->t->added_norm, norm, n, at_start, pipelinePieces);
}

static int segment(Work *w, const char *s, size_t len, bool at_start)
{
    if (!len) return 0;
    if (w->t->pipeline) return pipelineSegment(w, s, len, at_start);
    if (w->t->kind == TOKENIZER_SP_BPE) return spSegment(w, s, len, at_start);
    if (userStages(w->t) == 0) return byteLevelStage(w, s, len);
    return splitStage(w, s, len, 0);
}

static bool isWordChar(Work *w, uint32_t cp)
{
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
    if (!w->word_re) {
        int code;
        PCRE2_SIZE at;
        w->word_re = pcre2_compile((PCRE2_SPTR) "^[\\p{L}\\p{N}]", PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
        if (!w->word_re) return false;
    }
    char u[4];
    size_t n;
    if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return pcre2_match(w->word_re, (PCRE2_SPTR)u, n, 0, 0, w->md, NULL) >= 0;
}

/* The added token of `set` (longest first) that starts at s[pos], or NULL. */
static const AddedToken *addedAt(Work *w, const AddedSet *set, const char *s, size_t len, size_t pos)
{
    unsigned char c = (unsigned char)s[pos];
    for (int32_t k = set->start[c]; k < set->start[c + 1]; k++) {
        const AddedToken *a = &set->tok[k];
        if (a->len > len - pos || memcmp(s + pos, a->content, a->len)) continue;
        if (a->single_word) {
            size_t end = pos + a->len;
            if (pos > 0) {
                size_t p = prevChar(s, pos);
                if (isWordChar(w, decodeAt((const unsigned char *)s + p, pos - p))) continue;
            }
            if (end < len && isWordChar(w, decodeAt((const unsigned char *)s + end,
                                                    utf8Len((unsigned char)s[end]))))
                continue;
        }
        return a;
    }
    return NULL;
}

/* Cuts text at the added tokens of `set`, emitting their ids and handing the
 * stretches between them to fn. */
static int splitAdded(Work *w, const AddedSet *set, const char *text, size_t len, bool at_start,
                      SegmentFn fn)
{
    size_t seg = 0, pos = 0;
    if (set->n) {
        while (pos < len) {
            unsigned char c = (unsigned char)text[pos];
            const AddedToken *a = set->start[c] < set->start[c + 1] ? addedAt(w, set, text, len, pos) : NULL;
            if (!a) {
                pos++;
                continue;
            }
            size_t end = pos;
            if (a->lstrip)
                while (end > seg) {
                    size_t p = prevChar(text, end);
                    if (!isWhiteSpace(decodeAt((const unsigned char *)text + p, end - p))) break;
                    end = p;
                }
            if (fn(w, text + seg, end - seg, at_start && seg == 0) || emit(w, a->id)) return -1;
            pos += a->len;
            if (a->rstrip)
                while (pos < len) {
                    size_t cl = utf8Len((unsigned char)text[pos]);
                    if (!isWhiteSpace(decodeAt((const unsigned char *)text + pos, cl))) break;
                    pos += cl;
                }
            seg = pos;
        }
    }
    return fn(w, text + seg, len - seg, at_start && seg == 0);
}

int tokenizerEncode(const Tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
                    Error *err)
{
    *ids = NULL;
    *n = 0;
    size_t bad = utf8Check((const unsigned char *)text, len);
    if (bad < len) return errorSet(err, EXIT_INPUT, "text is not valid UTF-8 at byte %zu", bad);
    Work w = {.t = t, .err = err};
    int rc = -1;
    if (t->n_re) {
        w.md = pcre2_match_data_create(4, NULL);
        w.mctx = pcre2_match_context_create(NULL);
        /* Long runs of one class can outgrow the JIT's default 32 KiB stack. */
        w.jit = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
        if (!w.md || !w.mctx || !w.jit) {
            errorNoMem(err, "tokenizer");
            goto done;
        }
        pcre2_jit_stack_assign(w.mctx, NULL, w.jit);
    } else if (t->added.n || t->added_norm.n) {
        w.md = pcre2_match_data_create(4, NULL);
        if (!w.md) {
            errorNoMem(err, "tokenizer");
            goto done;
        }
    }
    if (t->pipeline) {
        if (tokScratchInit(&w.sc, err)) goto done;
        w.have_sc = true;
    }
    if (splitAdded(&w, &t->added, text, len, true, segment)) goto done;
    *ids = w.out;
    *n = w.n_out;
    w.out = NULL;
    rc = 0;
done:
    free(w.out);
    free(w.sym);
    free(w.prev);
    free(w.next);
    free(w.heap);
    free(w.buf);
    free(w.cat);
    free(w.affix);
    if (w.have_sc) tokScratchFree(&w.sc);
    cacheFree(&w.cache);
    if (w.word_re) pcre2_code_free(w.word_re);
    if (w.jit) pcre2_jit_stack_free(w.jit);
    if (w.mctx) pcre2_match_context_free(w.mctx);
    if (w.md) pcre2_match_data_free(w.md);
    return rc;
}
