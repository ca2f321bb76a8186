/* The model providers as a table, the way curl's struct Curl_ssl and
 * redis's ConnectionType do it: each wire protocol is one const
 * model_provider_t in its own file (model_openai.c, model_anthropic.c), and
 * model_providers.c lists them. Everything that differs by provider lives
 * in its entry, so no other file branches on a provider.
 *
 * Adding a provider is one new file exporting a model_provider_t, plus one
 * line in model_providers.c. */
#ifndef AGENTOS_AGENT_MODEL_PROVIDER_H
#define AGENTOS_AGENT_MODEL_PROVIDER_H

#include <jansson.h>
#include <stddef.h>

struct curl_slist;
struct model_config;
struct model_stream;

/* One provider name a YAML may give, with its defaults. A protocol's own
 * name comes first; the servers that speak it (Ollama speaks OpenAI's)
 * follow with theirs. */
typedef struct model_provider_name {
    const char *yaml;         /* "openai", "ollama" (matched ignoring case) */
    const char *agno;         /* Agno's Model.provider: "OpenAI", "Ollama" */
    const char *agno_class;   /* Agno's model class: "OpenAIChat", "Ollama" */
    const char *metrics_name; /* Agno's ModelMetrics.provider ("OpenAI Chat"); NULL: agno */
    const char *base_url;     /* the default base URL */
    const char *base_url_env; /* overrides the default; NULL for none */
    const char *key_env;      /* NULL: no key unless the YAML names one (local servers) */
} model_provider_name_t;

/* What a provider can do, for callers that must choose. */
enum {
    MODEL_CAP_TOOLS = 1u << 0,        /* calls tools, and can be told not to */
    MODEL_CAP_STREAM_USAGE = 1u << 1, /* reports token usage inside the stream */
    MODEL_CAP_MAX_TOKENS = 1u << 2,   /* every request needs max_tokens (a default is sent) */
};

typedef struct model_provider {
    const char *url_path; /* after the base URL: "/chat/completions" */
    unsigned caps;        /* MODEL_CAP_* */
    /* The JSON body of one streamed call; NULL when it cannot be built. */
    json_t *(*body)(const struct model_config *cfg, const json_t *messages, const json_t *tools);
    /* Keeps the tools declared, but tells the model not to call any. */
    void (*forbid_tools)(json_t *body);
    /* The fixed headers and the auth header for a cleaned key (or none when
     * api_key is NULL); NULL when out of memory. */
    struct curl_slist *(*headers)(const char *api_key);
    /* One SSE event of the reply: 0, or -1 after failing the stream. */
    int (*on_event)(struct model_stream *s, const char *event, const char *data, size_t len);
    /* names[0] is the provider's own: its YAML name, Agno's spelling, its
     * default base URL and key variable. */
    const model_provider_name_t *names;
    size_t nnames;
} model_provider_t;

extern const model_provider_t model_provider_openai;
extern const model_provider_t model_provider_anthropic;

/* The table, in the order of the metrics counters (at most COUNTERS_PROVIDERS). */
size_t model_provider_count(void);
const model_provider_t *model_provider_at(size_t i);
/* Its position in the table, the counters' index; -1 when not in it. */
int model_provider_index(const model_provider_t *p);
/* The provider a YAML name speaks, and (when name is not NULL) that name's
 * entry. NULL for an unknown name. */
const model_provider_t *model_provider_find(const char *yaml, const model_provider_name_t **name);
/* The provider's own name entry. */
const model_provider_name_t *model_provider_own(const model_provider_t *p);
/* Agno's spelling of a YAML provider name ("ollama" -> "Ollama"); the name
 * as written when the table does not know it (NULL stays NULL). */
const char *model_provider_agno_name(const char *yaml);
/* Agno's model class for a YAML provider name; "OpenAILike" when unknown. */
const char *model_provider_agno_class(const char *yaml);
/* Agno's ModelMetrics.provider for a YAML name: the entry's metrics name,
 * else model_provider_agno_name. */
const char *model_provider_metrics_name(const char *yaml);
/* "openai, openai-compatible, ollama, ..." for error messages, cut to fit
 * n bytes. */
void model_provider_list(char *buf, size_t n);

#endif
