#ifndef FFNSCOPE_ENGINE_PEEK_H
#define FFNSCOPE_ENGINE_PEEK_H

/* What can be read cheaply about a model before loading it: family and FFN
 * width from a Hugging Face config.json. Used to order glob matches and the
 * dashboard's model list; the loaded model's own numbers win later. */
typedef struct Peek {
    char family[24];   /* the architecture (gpt2, llama, qwen3, ...), or "" */
    int width;         /* FFN width, 0 when unknown */
} Peek;

/* Reads DIR/config.json when there is one (1 MiB at most). Returns 1 when
 * something was learned, 0 otherwise; never fails. */
int peekHfConfig(const char *dir, Peek *out);

#endif
