/* Tokenizers on small hand-built vocabularies. Every expected id list below
 * was worked out by hand from the merge rules written next to it (and the
 * SentencePiece-style tokenizer.json is also run through Hugging Face's
 * tokenizers by check_reference.py, which must agree). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ffnscope/tokenizer.h"
#include "model/tokenizer_build.h"

static char tmpdir[256];

static void makeTmp(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ffnscope-tok-XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(tmpdir), "mkdtemp");
}

static void removeTmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

static const char *writeFile(const char *name, const void *data, size_t len)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

static void expectIds(const Tokenizer *t, const char *text, const int32_t *want, size_t n_want)
{
    int32_t *ids;
    size_t n;
    Error err = {0};
    cr_assert_eq(tokenizerEncode(t, text, strlen(text), &ids, &n, &err), 0, "encode '%s': %s", text, err.msg);
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        char got[512] = "", exp[512] = "";
        for (size_t i = 0; i < n && strlen(got) < 480; i++) sprintf(got + strlen(got), "%d ", ids[i]);
        for (size_t i = 0; i < n_want && strlen(exp) < 480; i++) sprintf(exp + strlen(exp), "%d ", want[i]);
        cr_expect(same, "'%s': got [%s] want [%s]", text, got, exp);
    }
    free(ids);
}

#define EXPECT_IDS(t, text, ...)                                                          \
    do {                                                                                  \
        static const int32_t want_[] = {__VA_ARGS__};                                     \
        expectIds(t, text, want_, sizeof want_ / sizeof want_[0]);                        \
    } while (0)
#define EXPECT_NO_IDS(t, text) expectIds(t, text, NULL, 0)

/* ---- SentencePiece-style tokenizer.json ----
 * ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, 259 ▁, 260 a, 261 b,
 * 262 c, 263 d, 264 ▁a, 265 ab, 266 bc, 267 ▁ab, 268 abc, 269 ▁abc, 270 cd, 271 é.
 * merges by rank: 0 "b c", 1 "a b", 2 "▁ a", 3 "▁a b", 4 "ab c", 5 "▁ab c", 6 "c d". */
static char *spJson(const char *model_extra, const char *norm_and_pre)
{
    size_t cap = 64 * 1024, o = 0;
    char *s = malloc(cap);
    cr_assert(s);
    o += (size_t)snprintf(s + o, cap - o,
                          "{\"version\":\"1.0\",\"added_tokens\":["
                          "{\"id\":0,\"content\":\"<unk>\",\"special\":true,\"normalized\":false},"
                          "{\"id\":1,\"content\":\"<s>\",\"special\":true,\"normalized\":false},"
                          "{\"id\":2,\"content\":\"</s>\",\"special\":true,\"normalized\":false}],"
                          "%s,\"post_processor\":null,\"decoder\":null,"
                          "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",%s"
                          "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2",
                          norm_and_pre, model_extra);
    for (int b = 0; b < 256; b++) o += (size_t)snprintf(s + o, cap - o, ",\"<0x%02X>\":%d", b, b + 3);
    o += (size_t)snprintf(s + o, cap - o,
                          ",\"\u2581\":259,\"a\":260,\"b\":261,\"c\":262,\"d\":263,\"\u2581a\":264,"
                          "\"ab\":265,\"bc\":266,\"\u2581ab\":267,\"abc\":268,\"\u2581abc\":269,\"cd\":270,"
                          "\"\u00e9\":271},\"merges\":[\"b c\",\"a b\",\"\u2581 a\",[\"\u2581a\",\"b\"],"
                          "\"ab c\",\"\u2581ab c\",\"c d\"]}}");
    return s;
}

static const char SP_NORM[] =
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},\"pre_tokenizer\":null";

static Tokenizer *loadJsonText(const char *name, const char *json)
{
    const char *path = writeFile(name, json, strlen(json));
    Tokenizer *t;
    Error err = {0};
    cr_assert_eq(tokenizerLoad(path, &t, &err), 0, "%s", err.msg);
    return t;
}

TestSuite(sp, .init = makeTmp, .fini = removeTmp);

Test(sp, byte_fallback_and_rank_order)
{
    char *json = spJson("\"fuse_unk\":true,\"byte_fallback\":true,", SP_NORM);
    Tokenizer *t = loadJsonText("sp.json", json);
    free(json);
    cr_expect_str_eq(tokenizerKind(t), "sp-bpe");
    cr_expect_eq(tokenizerVocabSize(t), 272);
    cr_expect_eq(tokenizerBos(t), 1);
    cr_expect_eq(tokenizerEos(t), 2);
    /* ▁ a b c: "b c" (rank 0) first, then "▁ a" (2); "▁a bc" is no merge. */
    EXPECT_IDS(t, "abc", 264, 266);
    /* ▁ a b: "a b" (1) first; "▁ ab" is no merge. */
    EXPECT_IDS(t, "ab", 259, 265);
    /* ▁ c d ▁ a b: "a b" (1), then "c d" (6). */
    EXPECT_IDS(t, "cd ab", 259, 270, 259, 265);
    /* ü is not a token: its bytes C3 BC fall back to ids 0xC3+3, 0xBC+3. */
    EXPECT_IDS(t, "a\xC3\xBC", 264, 198, 191);
    EXPECT_IDS(t, "\xC3\xA9", 259, 271);
    /* U+1F642 = F0 9F 99 82. */
    EXPECT_IDS(t, "\xF0\x9F\x99\x82", 259, 243, 162, 156, 133);
    /* Two spaces: ▁ a ▁ ▁ b; no "▁▁" token. */
    EXPECT_IDS(t, "a  b", 264, 259, 259, 261);
    /* A literal ▁ in the text is the same character. */
    EXPECT_IDS(t, "\xE2\x96\x81" "a", 259, 264);
    /* Added tokens split first; each piece between them gets its own ▁. */
    EXPECT_IDS(t, "<s>a</s>", 1, 264, 2);
    EXPECT_IDS(t, "ab<s> c", 259, 265, 1, 259, 259, 262);
    EXPECT_NO_IDS(t, "");
    tokenizerFree(t);
}

Test(sp, unk_fused_and_not)
{
    char *json = spJson("\"fuse_unk\":true,\"byte_fallback\":false,", SP_NORM);
    Tokenizer *t = loadJsonText("fused.json", json);
    free(json);
    /* ▁ a <unk(üü)> ▁ b: the two unknown characters make one unk. */
    EXPECT_IDS(t, "a\xC3\xBC\xC3\xBC b", 264, 0, 259, 261);
    tokenizerFree(t);
    json = spJson("\"fuse_unk\":false,\"byte_fallback\":false,", SP_NORM);
    t = loadJsonText("unfused.json", json);
    free(json);
    EXPECT_IDS(t, "a\xC3\xBC\xC3\xBC b", 264, 0, 0, 259, 261);
    tokenizerFree(t);
}

Test(sp, metaspace_forms)
{
    /* The older form: no normalizer, Metaspace adds the prefix unless the text
     * starts with a space already; split=true cuts before every ▁. */
    static const char META[] =
        "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\u2581\","
        "\"add_prefix_space\":true,\"split\":true}";
    char *json = spJson("\"fuse_unk\":true,\"byte_fallback\":true,", META);
    Tokenizer *t = loadJsonText("meta.json", json);
    free(json);
    EXPECT_IDS(t, "abc", 264, 266);
    /* " ab": already starts with ▁, so no second one: ▁ a b -> "a b" first. */
    EXPECT_IDS(t, " ab", 259, 265);
    /* "cd ab" -> pieces "▁cd", "▁ab". */
    EXPECT_IDS(t, "cd ab", 259, 270, 259, 265);
    tokenizerFree(t);
}

/* ---- llama2.c tokenizer.bin ----
 * 0 <unk>, 1 "\n<s>\n", 2 "\n</s>\n", 3..258 <0xNN> (score 0), then
 * 259 " " 0, 260 "a" 0, 261 "b" 0, 262 "c" 0, 263 " a" -3, 264 "ab" -1,
 * 265 "bc" -2, 266 " ab" -0.5, 267 "abc" -4, 268 " abc" -0.1, 269 "aa" -1,
 * 270 "é" 0, 271 "cc" -2e10 (below llama2.c's -1e10 floor: never merged). */
static const char *writeLlama2c(void)
{
    struct {
        const char *s;
        float score;
    } extra[] = {{" ", 0},     {"a", 0},     {"b", 0},       {"c", 0},    {" a", -3},
                 {"ab", -1},   {"bc", -2},   {" ab", -0.5f}, {"abc", -4}, {" abc", -0.1f},
                 {"aa", -1},   {"\xC3\xA9", 0}, {"cc", -2e10f}};
    static unsigned char buf[16384];
    size_t o = 0;
    int32_t max_len = 6;
    memcpy(buf, &max_len, 4);
    o = 4;
#define PUT(str, sc)                                \
    do {                                            \
        float f_ = (sc);                            \
        int32_t l_ = (int32_t)strlen(str);          \
        memcpy(buf + o, &f_, 4);                    \
        memcpy(buf + o + 4, &l_, 4);                \
        memcpy(buf + o + 8, (str), (size_t)l_);     \
        o += 8 + (size_t)l_;                        \
    } while (0)
    PUT("<unk>", 0);
    PUT("\n<s>\n", 0);
    PUT("\n</s>\n", 0);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        PUT(name, 0);
    }
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) PUT(extra[i].s, extra[i].score);
#undef PUT
    return writeFile("tokenizer.bin", buf, o);
}

TestSuite(llama2c, .init = makeTmp, .fini = removeTmp);

Test(llama2c, merges_by_score)
{
    const char *path = writeLlama2c();
    Tokenizer *t;
    Error err = {0};
    cr_assert_eq(tokenizerLoad(path, &t, &err), 0, "%s", err.msg);
    cr_expect_str_eq(tokenizerKind(t), "sp-bpe");
    cr_expect_str_eq(tokenizerFormat(t), "tokenizer.bin");
    cr_expect_eq(tokenizerVocabSize(t), 272);
    cr_expect_eq(tokenizerBos(t), 1);
    /* " " a b c: best "ab" (-1) > "bc" (-2) > " a" (-3); then " ab" (-0.5)
     * beats "abc" (-4); then " abc" (-0.1). */
    EXPECT_IDS(t, "abc", 268);
    /* " " a a a: "aa" (-1) twice, the left one wins: " " aa a; " aa" and
     * "aaa" are no tokens. */
    EXPECT_IDS(t, "aaa", 259, 269, 260);
    /* ü falls back to its bytes + 3; " a" merges. */
    EXPECT_IDS(t, "a\xC3\xBC", 263, 198, 191);
    EXPECT_IDS(t, "\xC3\xA9", 259, 270);
    /* "cc" scores below -1e10 and stays apart. */
    EXPECT_IDS(t, "cc", 259, 262, 262);
    /* Spaces stay spaces in llama2.c's vocabulary: " a" " ab"... */
    EXPECT_IDS(t, "a ab", 263, 266);
    /* No dummy prefix for empty text. */
    EXPECT_NO_IDS(t, "");
    tokenizerFree(t);
}

Test(llama2c, rejects_broken_files)
{
    Tokenizer *t;
    Error err = {0};
    const char *path = writeLlama2c();
    /* Cut the file in the middle of a token. */
    FILE *fp = fopen(path, "r+b");
    cr_assert(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    cr_assert_eq(truncate(path, size - 2), 0);
    cr_expect_eq(tokenizerLoad(path, &t, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_expect(strstr(err.msg, path) == err.msg && strstr(err.msg, "truncated"), "%s", err.msg);

    unsigned char bad[16] = {6, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'x', 'y', 'z', 'w'};
    path = writeFile("neg.bin", bad, sizeof bad);
    err = (Error){0};
    cr_expect_eq(tokenizerLoad(path, &t, &err), -1);
    cr_expect(strstr(err.msg, "length -1"), "%s", err.msg);

    /* Fewer than 259 tokens leave no room for llama2.c's byte fallback. */
    unsigned char small[4 + 9] = {6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a'};
    path = writeFile("small.bin", small, sizeof small);
    err = (Error){0};
    cr_expect_eq(tokenizerLoad(path, &t, &err), -1);
    cr_expect(strstr(err.msg, "byte token"), "%s", err.msg);
}

/* ---- byte-level BPE through the builder (the GGUF reader's way in) ----
 * ids 0..255: the byte tokens in byte order; 256 "Ġt", 257 "he", 258 "Ġthe",
 * 259 "Ġa"; merges by rank: "Ġ t", "h e", "Ġt he", "Ġ a". */
static Tokenizer *buildByteLevel(const char *const *merges, int n_merges, Error *err)
{
    static char names[256][3];
    const char *tokens[260];
    for (int b = 0; b < 256; b++) {
        tokenizerByteChar((unsigned)b, names[b]);
        tokens[b] = names[b];
    }
    tokens[256] = "\xC4\xA0t";
    tokens[257] = "he";
    tokens[258] = "\xC4\xA0the";
    tokens[259] = "\xC4\xA0" "a";
    TokenizerSpec spec;
    tokenizerSpecInit(&spec, TOKENIZER_BYTE_BPE, "test.gguf", "gguf");
    spec.n_tokens = 260;
    spec.tokens = tokens;
    spec.merges = merges;
    spec.n_merges = n_merges;
    Tokenizer *t = NULL;
    return tokenizerBuild(&spec, &t, err) ? NULL : t;
}

Test(bytelevel, builder)
{
    char c[3];
    tokenizerByteChar(' ', c);
    cr_expect_str_eq(c, "\xC4\xA0"); /* Ġ, U+0120 */
    tokenizerByteChar('\n', c);
    cr_expect_str_eq(c, "\xC4\x8A"); /* Ċ, U+010A */
    tokenizerByteChar('A', c);
    cr_expect_str_eq(c, "A");
    tokenizerByteChar(0xAD, c);
    cr_expect_str_eq(c, "\xC5\x83"); /* Ń, U+0143: the last one */

    static const char *const merges[] = {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "\xC4\xA0 a"};
    Error err = {0};
    Tokenizer *t = buildByteLevel(merges, 4, &err);
    cr_assert(t, "%s", err.msg);
    cr_expect_str_eq(tokenizerKind(t), "byte-bpe");
    cr_expect_str_eq(tokenizerFormat(t), "gguf");
    /* " the": Ġ t h e -> "Ġ t" (0) -> "h e" (1) -> "Ġt he" (2). */
    EXPECT_IDS(t, " the a", 258, 259);
    /* "the" alone: t h e -> "h e"; "t he" is no merge. */
    EXPECT_IDS(t, "the", 't', 257);
    /* GPT-2's pattern: "it", "'s"; and "a", "\n", "\n", "b": \s+(?!\S)
     * backs off to the first newline, plain \s+ takes the second. */
    EXPECT_IDS(t, "it's", 'i', 't', '\'', 's');
    EXPECT_IDS(t, "a\n\nb", 'a', '\n', '\n', 'b');
    /* Two spaces before a word: " " then " the". */
    EXPECT_IDS(t, "  the", ' ', 258);
    /* A non-ASCII byte maps through the byte alphabet: é = C3 A9. */
    EXPECT_IDS(t, "\xC3\xA9", 0xC3, 0xA9);
    tokenizerFree(t);
}

Test(bytelevel, builder_rejects_bad_merges)
{
    static const char *const unknown[] = {"\xC4\xA0 t", "x yz"};
    Error err = {0};
    cr_expect_null(buildByteLevel(unknown, 2, &err));
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_expect(strstr(err.msg, "test.gguf: merge 1") == err.msg && strstr(err.msg, "unknown token 'yz'"),
              "%s", err.msg);
    static const char *const notoken[] = {"h e", "t h"};
    err = (Error){0};
    cr_expect_null(buildByteLevel(notoken, 2, &err));
    cr_expect(strstr(err.msg, "makes 'th', which is not a token"), "%s", err.msg);
    static const char *const shape[] = {"h e", "the"};
    err = (Error){0};
    cr_expect_null(buildByteLevel(shape, 2, &err));
    cr_expect(strstr(err.msg, "merge 1 ('the') is not two tokens"), "%s", err.msg);
}

TestSuite(hfjson, .init = makeTmp, .fini = removeTmp);

Test(hfjson, validation)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []", "invalid JSON at line 1"},
        {"[1, 2]", "no \"model\" object"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "model type 'WordPiece' is not supported"},
        {"{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model has no \"vocab\""},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", "model has no \"merges\" list"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         "id 0 is given to both"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         "names unknown token 'c'"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}", "duplicate object key"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", "out of range"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}}", "is not an integer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"normalizer\": {\"type\": \"NMT\"}}",
         "normalizer 'NMT' is not supported"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}", "model type 'Unigram' is not supported"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAAA\"}}",
         "Precompiled"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}}",
         "pre_tokenizer 'UnicodeScripts' is not supported"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Sideways\"}}",
         "unknown behavior"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"ab\"}}",
         "must be one character"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"unk_token\": \"<unk>\"}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         "unk_token '<unk>' is not a token"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"added_tokens\": [{\"id\": 0, \"content\": \"<x>\"}], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         "added token '<x>' has id 0, which is token 'a'"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
         "\"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\"}]}}",
         "does not compile"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "case%zu.json", i);
        const char *path = writeFile(name, cases[i].json, strlen(cases[i].json));
        Tokenizer *t = NULL;
        Error err = {0};
        cr_expect_eq(tokenizerLoad(path, &t, &err), -1, "case %zu loaded", i);
        cr_expect_eq(err.code, EXIT_INPUT, "case %zu", i);
        cr_expect(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, cases[i].want),
                  "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
        tokenizerFree(t);
    }
}

Test(hfjson, rejects_invalid_utf8_text)
{
    char *json = spJson("\"fuse_unk\":true,\"byte_fallback\":true,", SP_NORM);
    Tokenizer *t = loadJsonText("sp.json", json);
    free(json);
    int32_t *ids;
    size_t n;
    Error err = {0};
    cr_expect_eq(tokenizerEncode(t, "ab\xC3(", 4, &ids, &n, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_expect(strstr(err.msg, "not valid UTF-8 at byte 2"), "%s", err.msg);
    tokenizerFree(t);
}

/* The general pipeline on the hand-worked vocabulary above. */
Test(hfjson, pipeline_normalizers)
{
    /* NFKC folds full-width letters, Lowercase the capitals: "\uff21Bc" is "abc",
     * which merges as the plain text does ("abc" in the sp suite). */
    char *json = spJson("\"fuse_unk\":true,\"byte_fallback\":true,",
                        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},"
                        "{\"type\":\"Lowercase\"},{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
                        "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},"
                        "\"pre_tokenizer\":null");
    Tokenizer *t = loadJsonText("nfkc.json", json);
    free(json);
    EXPECT_IDS(t, "\uff21Bc", 264, 266);
    EXPECT_IDS(t, "AB<s>", 259, 265, 1); /* added tokens are cut out before normalizing */
    EXPECT_IDS(t, "<s>", 1);         /* an empty stretch gets no "\u2581" */
    tokenizerFree(t);
}

Test(hfjson, pipeline_split_behaviors)
{
    /* Split on "b": Removed drops it, MergedWithPrevious glues it to "a"
     * (then "ab" is one piece), MergedWithNext to "c" ("bc"). */
    static const struct {
        const char *behavior;
        int32_t ids[4];
        size_t n;
    } cases[] = {
        {"Removed", {260, 262}, 2},
        {"Isolated", {260, 261, 262}, 3},
        {"MergedWithPrevious", {265, 262}, 2},
        {"MergedWithNext", {260, 266}, 2},
        {"Contiguous", {260, 261, 262}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pre[256];
        snprintf(pre, sizeof pre,
                 "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"b\"},"
                 "\"behavior\":\"%s\",\"invert\":false}", cases[i].behavior);
        char *json = spJson("\"byte_fallback\":true,", pre);
        Tokenizer *t = loadJsonText("split.json", json);
        free(json);
        expectIds(t, "abc", cases[i].ids, cases[i].n);
        tokenizerFree(t);
    }
}

Test(hfjson, tokenizer_config_bos)
{
    char *json = spJson("\"byte_fallback\":true,", SP_NORM);
    writeFile("tokenizer.json", json, strlen(json));
    free(json);
    static const struct {
        const char *config;
        int bos, eos;
        bool reason;
    } cases[] = {
        {"{\"bos_token\": \"</s>\", \"eos_token\": {\"content\": \"<s>\"}}", 2, 1, false},
        {"{\"add_bos_token\": false, \"bos_token\": \"<s>\"}", -1, 2, true},
        {"{\"bos_token\": null}", -1, 2, true},
        {"{\"model_max_length\": 4096}", 1, 2, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        writeFile("tokenizer_config.json", cases[i].config, strlen(cases[i].config));
        Tokenizer *t;
        Error err = {0};
        cr_assert_eq(tokenizerLoad(tmpdir, &t, &err), 0, "%s", err.msg);
        cr_expect_eq(tokenizerBos(t), cases[i].bos, "case %zu", i);
        cr_expect_eq(tokenizerEos(t), cases[i].eos, "case %zu", i);
        cr_expect_eq(tokenizerNoBosReason(t) != NULL, cases[i].reason, "case %zu", i);
        tokenizerFree(t);
    }
    const char bad[] = "{\"bos_token\": \"<nope>\"}";
    writeFile("tokenizer_config.json", bad, strlen(bad));
    Tokenizer *t = NULL;
    Error err = {0};
    cr_expect_eq(tokenizerLoad(tmpdir, &t, &err), -1);
    cr_expect(strstr(err.msg, "tokenizer_config.json: bos_token '<nope>' is not a token"), "%s", err.msg);
}
