#ifndef FFNSCOPE_MODEL_ARCH_H
#define FFNSCOPE_MODEL_ARCH_H

/* What a decoder-only transformer architecture is made of, as data: the
 * config every family fills (ArchConfig), the tensor roles a layer can have
 * (LayerRole) and the table rows that name them in each format (TensorRole).
 * One family = one file under model/arch/ holding its tables, its configure
 * function and, where the shared block does not fit, its own block function;
 * plus one row in model/families.c. See docs/architecture.md. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "model/hparams.h"

typedef enum NormKind {
    NORM_LAYER,     /* (x - mean) / sqrt(var + eps) * w (+ b) */
    NORM_RMS,       /* x / sqrt(mean(x^2) + eps) * w */
    NORM_RMS_1P,    /* Gemma: x / sqrt(mean(x^2) + eps) * (1 + w); readers store 1 + w */
} NormKind;

typedef enum ActKind { ACT_GELU_TANH, ACT_GELU_ERF, ACT_RELU, ACT_SILU } ActKind;

/* Where the norms sit around the attention and FFN sublayers. */
typedef enum BlockLayout {
    BLOCK_PRE_NORM,     /* x += attn(n1(x)); x += ffn(n2(x))            GPT-2, LLaMA */
    BLOCK_PARALLEL,     /* x += attn(n1(x)) + ffn(n2(x))                GPT-NeoX parallel residual */
    BLOCK_POST_NORM,    /* x += n1(attn(x)); x += n2(ffn(x))            OLMo 2 */
    BLOCK_SANDWICH,     /* x += n1'(attn(n1(x))); x += n2'(ffn(n2(x)))  Gemma 2/3 */
} BlockLayout;

typedef enum RopeType { ROPE_NONE, ROPE_DEFAULT, ROPE_LINEAR, ROPE_DYNAMIC, ROPE_LLAMA3 } RopeType;

/* Bounds llama.cpp's per-frequency divisors (rope_freqs: heads up to 1024 wide). */
#define ROPE_MAX_FREQ_DIV 512

/* Rotary positions in the Hugging Face rotate-half layout over the first
 * `dims` values of each head (partial rotary leaves the rest alone). */
typedef struct RopeSpec {
    RopeType type;
    double theta;
    int dims;                   /* even, <= head_dim */
    double factor;              /* linear, dynamic, llama3 */
    double low_freq_factor, high_freq_factor;   /* llama3 */
    int original_context;       /* llama3: original_max_position_embeddings; dynamic: max positions */
    /* llama.cpp's rope_freqs tensor (Llama 3's scaling as GGUF files store
     * it): inv_freq[i] / freq_div[i] after the type's scaling; 0: none. */
    int n_freq_div;
    float freq_div[ROPE_MAX_FREQ_DIV];
} RopeSpec;

typedef enum QkNorm { QK_NORM_NONE, QK_NORM_HEAD, QK_NORM_WHOLE } QkNorm;

/* Bounded so a config never carries a pointer; MODEL_MAX_LAYERS in weights.h. */
#define ARCH_MAX_LAYERS 4096

typedef struct ArchConfig {
    /* sizes */
    int d;                      /* hidden size */
    int n_layers;
    int n_heads, n_kv_heads;    /* n_heads a multiple of n_kv_heads */
    int head_dim;
    int ffn;                    /* FFN width D */
    int context;                /* longest sequence */
    int vocab;
    /* structure */
    NormKind norm;
    double eps;
    BlockLayout layout;
    ActKind act;
    int gated;                  /* FFN is act(gate) * up; else act(up) */
    int learned_positions;      /* GPT-2's wpe */
    double embed_scale;         /* embeddings multiplied by this (Gemma: sqrt(d)); 0 means 1 */
    QkNorm qk_norm;
    int tied;                   /* LM head shares the embedding (no lm_head tensor) */
    int qkv_bias, o_bias, mlp_bias;
    /* attention */
    double attn_scale;          /* multiplies Q K^T; 0 means 1/sqrt(head_dim) */
    int scale_by_layer;         /* GPT-2 scale_attn_by_inverse_layer_idx */
    double softcap;             /* scores -> cap * tanh(scores / cap); 0 none */
    int window;                 /* sliding window in tokens (a query sees itself and window-1 before); 0 none */
    uint8_t sliding[ARCH_MAX_LAYERS];   /* layer uses the window (and rope_local) */
    RopeSpec rope, rope_local;  /* rope_local.type ROPE_NONE: sliding layers use rope */
    /* mixture of experts (README "Models"); n_experts 0: every FFN is dense */
    int n_experts, top_k;       /* routed experts per routed layer, experts per token */
    int expert_ffn;             /* width of each routed expert */
    int shared_ffn;             /* width of the shared expert (behind a sigmoid gate); 0 none */
    int norm_topk;              /* the top-k probabilities are renormalised to sum to 1 */
    uint8_t routed[ARCH_MAX_LAYERS];    /* layer has a routed FFN (else dense, width ffn) */
    /* family-specific numbers the shared tables have no name for */
    double extra[4];
} ArchConfig;

/* Tensor roles of one layer; Layer.w[role] points at the float32 data. Fused
 * tensors (QKV, GATE_UP) are loaded as one and split into the separate roles'
 * pointers afterwards, so the block code sees one layout. */
typedef enum LayerRole {
    L_ATTN_NORM, L_ATTN_NORM_B,
    L_WQ, L_WK, L_WV, L_BQ, L_BK, L_BV,
    L_WQKV, L_BQKV,             /* fused [q; k; v] rows */
    L_Q_NORM, L_K_NORM,
    L_WO, L_BO,
    L_POST_ATTN_NORM,           /* sandwich / post-norm */
    L_FFN_NORM, L_FFN_NORM_B,
    L_W_GATE, L_W_UP, L_B_UP,
    L_W_GATE_UP,                /* fused [gate; up] rows */
    L_W_DOWN, L_B_DOWN,
    L_POST_FFN_NORM,
    L_ROUTER,                   /* [n_experts, d] router logits */
    L_SH_GATE, L_SH_UP, L_SH_DOWN, L_SH_GATE_INP,   /* shared expert and its [1, d] sigmoid gate */
    L_EXTRA0, L_EXTRA1, L_EXTRA2, L_EXTRA3,     /* family-specific vectors (nGPT's scales) */
    L_ROLE_COUNT
} LayerRole;

/* Tensor roles of one routed expert; Layer.ex[expert][role]. */
typedef enum ExpertRole { X_GATE, X_UP, X_DOWN, X_ROLE_COUNT } ExpertRole;

typedef enum GlobalRole { G_EMBED, G_POS_EMBED, G_OUT_NORM, G_OUT_NORM_B, G_LM_HEAD, G_EXTRA0, G_ROLE_COUNT } GlobalRole;

/* Symbolic dimensions of a tensor's canonical [out, in] shape. */
typedef enum Dim {
    DIM_NONE, DIM_1, DIM_D, DIM_FFN, DIM_2FFN, DIM_Q, DIM_KV, DIM_QKV, DIM_HEAD, DIM_VOCAB, DIM_CTX,
    DIM_EXPERTS, DIM_EXPERT_FFN, DIM_SHARED_FFN
} Dim;

/* What a tensor table row belongs to (TensorRole.global). */
enum {
    TR_LAYER = 0,   /* every layer (LayerRole) */
    TR_GLOBAL = 1,  /* once (GlobalRole) */
    TR_DENSE = 2,   /* layers with a dense FFN (LayerRole) */
    TR_ROUTED = 3,  /* layers with a routed FFN (LayerRole: router, shared expert) */
    TR_EXPERT = 4,  /* each expert of a routed layer (ExpertRole); the name's second "%d" is the expert */
};

/* One row of a family's tensor table. */
typedef struct TensorRole {
    int global;                 /* TR_*: what the row belongs to and which enum role is */
    int role;
    const char *hf;             /* Hugging Face name; "%d" is the layer */
    const char *gguf;           /* llama.cpp name ("blk.%d...."), NULL when GGUF has none */
    Dim rows, cols;             /* cols DIM_NONE for a vector */
    unsigned flags;             /* SLOT_* of weights.h */
    int (*present)(const ArchConfig *c);    /* NULL: always */
} TensorRole;

/* Another Hugging Face name of a table row, read when the row's own name is
 * not in the checkpoint: what transformers 5 writes ("%d" the layer). For an
 * expert it is one 3-D tensor stacking the layer's experts, [n_experts,
 * parts x rows, cols], part `part` of each matrix being this row's (gate and
 * up share "gate_up_proj"). */
typedef struct TensorAlt {
    int global, role;           /* the TensorRole row it names again */
    const char *hf;
    int part, parts;
} TensorAlt;

int64_t archDim(const ArchConfig *c, Dim d);

/* Conditions for TensorRole.present, shared by the families. */
int archHasQkvBias(const ArchConfig *c);
int archHasOBias(const ArchConfig *c);
int archUntied(const ArchConfig *c);

struct Decoder;
struct Fwd;

/* One entry of the registry. */
typedef struct Family {
    const char *name;                   /* reported as the model's family: the HF model_type */
    const char *const *hf_archs;        /* exact "architectures" entries, NULL-ended */
    const char *gguf_arch;              /* llama.cpp general.architecture, or NULL */
    /* Where families share a gguf_arch (llama.cpp writes Mixtral as llama):
     * whether this one claims the file; a family without it is the fallback. */
    int (*gguf_claims)(const HpSource *s);
    /* llama.cpp's converter applies LLaMA's `permute` to this family's q/k
     * rows (weights and biases); the decoder marks those slots SLOT_ROPE. */
    int gguf_permutes_qk;
    const char *hf_prefix;              /* optional prefix of every HF name ("transformer."), or NULL */
    const Hparam *hparams;              /* read first */
    /* Everything the table cannot say: derived sizes, structure, strings and
     * nested keys, and the checks. what names the source in errors. */
    int (*configure)(ArchConfig *c, const HpSource *s, Error *err);
    const TensorRole *roles;            /* ended by a row with hf NULL */
    const TensorAlt *hf_alts;           /* NULL, or ended by a row with hf NULL */
    /* Runs layer l over f's rows; NULL: the shared decoderBlock. */
    int (*block)(struct Decoder *m, int l, struct Fwd *f, Error *err);
} Family;

#endif
