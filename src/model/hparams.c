#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *hpKey(const HpSource *s, const char *hf, const char *gguf) { return s->gguf ? gguf : hf; }

const char *hpKeyName(const HpSource *s, const char *hf, const char *gguf, char *buf, size_t len)
{
    const char *k = hpKey(s, hf, gguf);
    if (!k) k = s->gguf ? hf : gguf;
    if (s->gguf && s->arch) snprintf(buf, len, "%s.%s", s->arch, k);
    else snprintf(buf, len, "%s", k ? k : "?");
    return buf;
}

static int lookup(const HpSource *s, const char *hf, const char *gguf, HpKind want, HpValue *v, Error *err)
{
    memset(v, 0, sizeof *v);
    const char *k = hpKey(s, hf, gguf);
    if (!k) return 0;
    return s->find(s, k, want, v, err);
}

int hpHas(const HpSource *s, const char *hf, const char *gguf)
{
    HpValue v;
    Error e = {0};
    return lookup(s, hf, gguf, HPV_OTHER, &v, &e) == 0 && v.kind != HPV_ABSENT && v.kind != HPV_NULL;
}

int hpIsNull(const HpSource *s, const char *hf, const char *gguf)
{
    HpValue v;
    Error e = {0};
    return lookup(s, hf, gguf, HPV_OTHER, &v, &e) == 0 && v.kind == HPV_NULL;
}

int hpInt(const HpSource *s, const char *hf, const char *gguf, int required, int dflt, int *out, Error *err)
{
    HpValue v;
    char name[128];
    if (lookup(s, hf, gguf, HPV_INT, &v, err)) return -1;
    if (v.kind == HPV_ABSENT || v.kind == HPV_NULL) {
        if (required)
            return errorSet(err, EXIT_INPUT, "%s: key '%s' is missing", s->path,
                            hpKeyName(s, hf, gguf, name, sizeof name));
        *out = dflt;
        return 1;
    }
    if (v.kind != HPV_INT || v.i <= 0 || v.i > (1 << 30))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be a positive integer", s->path,
                        hpKeyName(s, hf, gguf, name, sizeof name));
    *out = (int)v.i;
    return 0;
}

int hpReal(const HpSource *s, const char *hf, const char *gguf, int any_sign, double dflt, double *out,
           Error *err)
{
    HpValue v;
    char name[128];
    if (lookup(s, hf, gguf, HPV_REAL, &v, err)) return -1;
    if (v.kind == HPV_ABSENT || v.kind == HPV_NULL) {
        *out = dflt;
        return 1;
    }
    if ((v.kind != HPV_INT && v.kind != HPV_REAL) || !isfinite(v.r) || (!any_sign && !(v.r > 0)))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be a %snumber", s->path,
                        hpKeyName(s, hf, gguf, name, sizeof name), any_sign ? "finite " : "positive ");
    *out = v.r;
    return 0;
}

int hpBool(const HpSource *s, const char *hf, const char *gguf, int dflt, int *out, Error *err)
{
    HpValue v;
    char name[128];
    if (lookup(s, hf, gguf, HPV_BOOL, &v, err)) return -1;
    if (v.kind == HPV_ABSENT || v.kind == HPV_NULL) {
        *out = dflt;
        return 1;
    }
    if (v.kind != HPV_BOOL)
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be true or false", s->path,
                        hpKeyName(s, hf, gguf, name, sizeof name));
    *out = v.i != 0;
    return 0;
}

int hpStr(const HpSource *s, const char *hf, const char *gguf, const char *dflt, const char **out, Error *err)
{
    HpValue v;
    char name[128];
    if (lookup(s, hf, gguf, HPV_STR, &v, err)) return -1;
    if (v.kind == HPV_ABSENT || v.kind == HPV_NULL) {
        *out = dflt;
        return 1;
    }
    if (v.kind != HPV_STR)
        return errorSet(err, EXIT_INPUT, "%s: key '%s' must be a string", s->path,
                        hpKeyName(s, hf, gguf, name, sizeof name));
    *out = v.s;
    return 0;
}

int hparamsRead(const Hparam *t, const HpSource *s, void *base, Error *err)
{
    for (; t->hf || t->gguf; t++) {
        char *field = (char *)base + t->offset;
        int rc = 0;
        switch (t->type) {
        case HP_INT: rc = hpInt(s, t->hf, t->gguf, t->required, (int)t->dflt, (int *)field, err); break;
        case HP_REAL: rc = hpReal(s, t->hf, t->gguf, 0, t->dflt, (double *)field, err); break;
        case HP_BOOL: rc = hpBool(s, t->hf, t->gguf, (int)t->dflt, (int *)field, err); break;
        }
        if (rc < 0) return -1;
    }
    return 0;
}

static int listFind(const HpSource *s, const char *key, HpKind want, HpValue *v, Error *err)
{
    (void)want;
    (void)err;
    for (const HpPair *p = s->impl; p->key; p++)
        if (!strcmp(p->key, key)) {
            v->r = p->value;
            v->i = (int64_t)p->value;
            v->kind = p->boolean ? HPV_BOOL : (double)v->i == p->value ? HPV_INT : HPV_REAL;
            return 0;
        }
    v->kind = HPV_ABSENT;
    return 0;
}

void hpListSource(HpSource *s, const char *path, const HpPair *pairs)
{
    *s = (HpSource){.path = path, .gguf = 0, .find = listFind, .impl = pairs};
}
