/* The shape is Agno 3.1.10's ConfigResponse (agno/os/schema.py), nulls
 * left out as Agno's response_model_exclude_none does, except "company",
 * which Agno always sends (null hides that page in the Control Plane).
 * Sections are given only for what we have: sessions and metrics. */
#include <stdio.h>
#include <string.h>

#include "api/config_view.h"
#include "api/views.h"

static json_t *model_of(const agent_def_t *a)
{
    const char *provider = view_provider(a->provider);
    if (a->model_id == NULL || provider == NULL)
        return NULL;
    return json_pack("{s:s, s:s}", "id", a->model_id, "provider", provider);
}

/* Unique (id, provider) pairs, in the agents' order. */
static json_t *available_models(const agent_registry_t *agents)
{
    json_t *out = json_array();
    for (size_t i = 0; i < agents->nagents; i++) {
        json_t *m = model_of(&agents->agents[i]);
        size_t j;
        json_t *seen;
        int dup = 0;
        json_array_foreach(out, j, seen)
        {
            dup |= json_equal(seen, m);
        }
        if (m != NULL && !dup)
            json_array_append(out, m);
        json_decref(m);
    }
    return out;
}

static json_t *agent_summary(const agent_def_t *a, const char *db_id)
{
    json_t *s = json_pack("{s:s, s:s, s:s, s:b}", "id", a->id, "name", a->name, "db_id", db_id,
                          "sandboxed", 0);
    if (a->description != NULL)
        json_object_set_new(s, "description", json_string(a->description));
    json_t *m = model_of(a);
    if (m != NULL)
        json_object_set_new(s, "model", m);
    if (json_is_object(a->metadata))
        json_object_set(s, "metadata", a->metadata);
    return s;
}

/* One domain section: {dbs: [{db_id, domain_config: {display_name}, tables}]}
 * with Agno's default display name (the db id). */
static json_t *domain(const char *db_id, const char *table)
{
    return json_pack("{s:[{s:s, s:{s:s}, s:[s]}]}", "dbs", "db_id", db_id, "domain_config",
                     "display_name", db_id, "tables", table);
}

json_t *config_view_build(const char *os_id, const char *backend, const agent_registry_t *agents)
{
    char db_id[64];
    snprintf(db_id, sizeof(db_id), "agentos-%s", backend);
    json_t *list = json_array();
    for (size_t i = 0; i < agents->nagents; i++)
        json_array_append_new(list, agent_summary(&agents->agents[i], db_id));
    return json_pack("{s:s, s:s, s:o, s:s, s:[s], s:o, s:o, s:n, s:{s:b, s:b}, s:o, s:[], s:[],"
                     " s:[]}",
                     "os_id", os_id, "name", CONFIG_VIEW_NAME, "available_models",
                     available_models(agents), "os_database", db_id, "databases", db_id, "session",
                     domain(db_id, "sessions"), "metrics", domain(db_id, "usage_daily"), "company",
                     "queue", "durable", 0, "queue_per_session", 0, "agents", list, "teams",
                     "workflows", "interfaces");
}
