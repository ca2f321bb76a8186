/* The one table of model providers, and finding a provider by the name a
 * YAML gives it. A new provider is one line in `providers`. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/model_provider.h"
#include "core/counters.h"

static const model_provider_t *const providers[] = {
    &model_provider_openai,
    &model_provider_anthropic,
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* The metrics count calls per provider in fixed slots, so that a new
 * provider is one line here and nothing else. */
_Static_assert(NPROVIDERS <= COUNTERS_PROVIDERS, "raise COUNTERS_PROVIDERS to fit the table");

size_t model_provider_count(void)
{
    return NPROVIDERS;
}

const model_provider_t *model_provider_at(size_t i)
{
    return i < NPROVIDERS ? providers[i] : NULL;
}

int model_provider_index(const model_provider_t *p)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (providers[i] == p)
            return (int)i;
    return -1;
}

const model_provider_t *model_provider_find(const char *yaml, const model_provider_name_t **name)
{
    if (yaml == NULL)
        return NULL;
    for (size_t i = 0; i < NPROVIDERS; i++) {
        for (size_t j = 0; j < providers[i]->nnames; j++) {
            if (strcasecmp(yaml, providers[i]->names[j].yaml) == 0) {
                if (name != NULL)
                    *name = &providers[i]->names[j];
                return providers[i];
            }
        }
    }
    return NULL;
}

const model_provider_name_t *model_provider_own(const model_provider_t *p)
{
    return p != NULL ? &p->names[0] : NULL;
}

static const model_provider_name_t *name_of(const char *yaml)
{
    const model_provider_name_t *n = NULL;
    return model_provider_find(yaml, &n) != NULL ? n : NULL;
}

const char *model_provider_agno_name(const char *yaml)
{
    const model_provider_name_t *n = name_of(yaml);
    return n != NULL ? n->agno : yaml;
}

const char *model_provider_agno_class(const char *yaml)
{
    const model_provider_name_t *n = name_of(yaml);
    return n != NULL ? n->agno_class : "OpenAILike";
}

const char *model_provider_metrics_name(const char *yaml)
{
    const model_provider_name_t *n = name_of(yaml);
    if (n == NULL)
        return yaml;
    return n->metrics_name != NULL ? n->metrics_name : n->agno;
}

void model_provider_list(char *buf, size_t n)
{
    size_t o = 0;
    if (n == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < NPROVIDERS; i++) {
        for (size_t j = 0; j < providers[i]->nnames && o < n; j++) {
            int w = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", providers[i]->names[j].yaml);
            o += w > 0 ? (size_t)w : 0;
        }
    }
}
