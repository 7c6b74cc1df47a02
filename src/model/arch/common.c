#include "model/arch/common.h"

#include <stdio.h>
#include <string.h>

int archReadRope(ArchConfig *c, const HpSource *s, RopeSpec *r, int dims, Error *err)
{
    r->type = ROPE_DEFAULT;
    r->dims = dims;
    if (s->gguf) {
        /* llama.cpp: rope.scaling.type none | linear (| yarn, refused) */
        const char *type;
        if (hpStr(s, NULL, "rope.scaling.type", "none", &type, err) < 0) return -1;
        double linear = 1;
        if (hpReal(s, NULL, "rope.scale_linear", 0, 1, &linear, err) < 0) return -1;
        if (!strcmp(type, "linear") || linear != 1) {
            r->type = ROPE_LINEAR;
            r->factor = linear;
            if (!strcmp(type, "linear") && hpReal(s, NULL, "rope.scaling.factor", 0, linear, &r->factor, err) < 0)
                return -1;
        } else if (strcmp(type, "none")) {
            char k[96];
            return errorSet(err, EXIT_INPUT, "%s: %s '%s' is not supported (none, linear)", s->path,
                            hpKeyName(s, NULL, "rope.scaling.type", k, sizeof k), type);
        }
        return 0;
    }
    if (!hpHas(s, "rope_scaling", NULL)) return 0;
    const char *type = NULL;
    /* Newer configs say rope_type, older ones type. */
    if (hpStr(s, "rope_scaling.rope_type", NULL, NULL, &type, err) < 0) return -1;
    if (!type && hpStr(s, "rope_scaling.type", NULL, NULL, &type, err) < 0) return -1;
    if (!type) return errorSet(err, EXIT_INPUT, "%s: key 'rope_scaling' names no rope_type", s->path);
    if (!strcmp(type, "default")) return 0;
    if (hpReal(s, "rope_scaling.factor", NULL, 0, 0, &r->factor, err) < 0) return -1;
    if (!strcmp(type, "linear")) r->type = ROPE_LINEAR;
    else if (!strcmp(type, "dynamic")) r->type = ROPE_DYNAMIC;
    else if (!strcmp(type, "llama3")) r->type = ROPE_LLAMA3;
    else
        return errorSet(err, EXIT_INPUT,
                        "%s: rope_scaling type '%s' is not supported (default, linear, dynamic, llama3)", s->path,
                        type);
    if (!(r->factor > 0))
        return errorSet(err, EXIT_INPUT, "%s: key 'rope_scaling.factor' is missing or not positive", s->path);
    r->original_context = c->context;
    if (r->type == ROPE_LLAMA3) {
        if (hpReal(s, "rope_scaling.low_freq_factor", NULL, 0, 1, &r->low_freq_factor, err) < 0 ||
            hpReal(s, "rope_scaling.high_freq_factor", NULL, 0, 4, &r->high_freq_factor, err) < 0 ||
            hpInt(s, "rope_scaling.original_max_position_embeddings", NULL, 0, 8192, &r->original_context, err) < 0)
            return -1;
        if (!(r->high_freq_factor > r->low_freq_factor))
            return errorSet(err, EXIT_INPUT, "%s: rope_scaling high_freq_factor must exceed low_freq_factor", s->path);
    }
    if (r->type == ROPE_DYNAMIC && r->dims <= 2)
        return errorSet(err, EXIT_INPUT, "%s: dynamic rope_scaling needs more than 2 rotary dimensions", s->path);
    return 0;
}

int archHeadDim(ArchConfig *c, const HpSource *s, const char *d_key, const char *heads_key, Error *err)
{
    char a[96], b[96];
    if (!hpHas(s, "head_dim", "attention.key_length") && c->d % c->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: %s %d is not divisible by %s %d", s->path,
                        hpKeyName(s, d_key, "embedding_length", a, sizeof a), c->d,
                        hpKeyName(s, heads_key, "attention.head_count", b, sizeof b), c->n_heads);
    int dflt = c->d / c->n_heads ? c->d / c->n_heads : 1;
    return hpInt(s, "head_dim", "attention.key_length", 0, dflt, &c->head_dim, err) < 0 ? -1 : 0;
}

int archLayerTypes(ArchConfig *c, const HpSource *s, Error *err)
{
    if (!hpHas(s, "layer_types", NULL)) return 0;
    for (int l = 0; l < c->n_layers; l++) {
        char key[48];
        const char *t = NULL;
        snprintf(key, sizeof key, "layer_types.%d", l);
        if (hpStr(s, key, NULL, NULL, &t, err) < 0) return -1;
        if (!t) return errorSet(err, EXIT_INPUT, "%s: key 'layer_types' has fewer than %d entries", s->path, c->n_layers);
        if (!strcmp(t, "sliding_attention")) c->sliding[l] = 1;
        else if (!strcmp(t, "full_attention")) c->sliding[l] = 0;
        else
            return errorSet(err, EXIT_INPUT, "%s: layer_types[%d] '%s' is not supported (sliding_attention, full_attention)",
                            s->path, l, t);
    }
    return 1;
}

int archActivation(const HpSource *s, const char *key, const char *dflt, ActKind *act, Error *err)
{
    const char *a;
    if (hpStr(s, key, NULL, dflt, &a, err) < 0) return -1;
    if (!strcmp(a, "silu") || !strcmp(a, "swish")) *act = ACT_SILU;
    else if (!strcmp(a, "gelu_pytorch_tanh") || !strcmp(a, "gelu_new") || !strcmp(a, "gelu_fast")) *act = ACT_GELU_TANH;
    else if (!strcmp(a, "gelu")) *act = ACT_GELU_ERF;
    else if (!strcmp(a, "relu")) *act = ACT_RELU;
    else
        return errorSet(err, EXIT_INPUT, "%s: %s '%s' is not supported (silu, gelu, gelu_pytorch_tanh, relu)", s->path,
                        key, a);
    return 0;
}
