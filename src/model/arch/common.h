#ifndef FFNSCOPE_MODEL_ARCH_COMMON_H
#define FFNSCOPE_MODEL_ARCH_COMMON_H

/* Config readers more than one family shares: rotary scaling, sliding-window
 * layer patterns, the head size. */

#include "model/arch.h"

/* c->rope from rope_theta (already in c->rope.theta), rope_scaling (types
 * default, linear, dynamic, llama3; anything else refused naming the type
 * and the supported ones) and dims (the rotated part of each head). */
int archReadRope(ArchConfig *c, const HpSource *s, RopeSpec *r, int dims, Error *err);

/* head_dim when the config gives it, else hidden / heads (which must divide). */
int archHeadDim(ArchConfig *c, const HpSource *s, const char *d_key, const char *heads_key, Error *err);

/* c->sliding[] from "layer_types" ("sliding_attention" / "full_attention")
 * when the config has it; returns 1 when it did, 0 when the key is absent. */
int archLayerTypes(ArchConfig *c, const HpSource *s, Error *err);

/* The activation named by key (dflt when absent); gated families accept the
 * SiLU and tanh/erf GELU names Hugging Face uses. */
int archActivation(const HpSource *s, const char *key, const char *dflt, ActKind *act, Error *err);

#endif
