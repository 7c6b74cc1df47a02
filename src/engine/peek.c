#include "engine/peek.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/families.h"

static int intKey(json_t *j, const char *key, int *out)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 24)) return 0;
    *out = (int)json_integer_value(v);
    return 1;
}

int peekHfConfig(const char *dir, Peek *out)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(dir) + 16;
    char *p = malloc(n);
    if (!p) return 0;
    snprintf(p, n, "%s/config.json", dir);
    struct stat st;
    json_t *j = NULL;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1 << 20)) j = json_load_file(p, 0, NULL);
    free(p);
    if (!json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    /* the family is the architecture, when the registry knows it */
    const char *type = json_string_value(json_object_get(j, "model_type"));
    if (type && familyByName(type)) snprintf(out->family, sizeof out->family, "%s", type);
    /* nGPT: ffn_width; LLaMA: intermediate_size; GPT-2: n_inner, null or absent meaning 4 * n_embd */
    int w = 0, d = 0;
    if (intKey(j, "ffn_width", &w) || intKey(j, "intermediate_size", &w) || intKey(j, "n_inner", &w)) out->width = w;
    else if (intKey(j, "n_embd", &d)) out->width = 4 * d;
    json_decref(j);
    return out->family[0] || out->width;
}
