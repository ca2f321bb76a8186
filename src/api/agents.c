/* The agent definitions as Agno's AgentResponse, and the models they use. */
#include <string.h>
#include <strings.h>

#include "agent/tools_builtin.h"
#include "api/app.h"
#include "api/body.h"
#include "api/handlers.h"
#include "api/route_scope.h"
#include "api/views.h"
#include "http/reply.h"

static const agent_registry_t *agents_of(http_request_t *r)
{
    return &((app_loop_t *)r->loop_data)->app->agents;
}

static json_t *tools_view(const agent_def_t *a)
{
    json_t *list = json_array();
    for (size_t i = 0; i < a->ntools; i++) {
        const tool_def_t *t = &a->tools[i];
        json_t *v = t->kind == TOOL_BUILTIN
                        ? tools_builtin_schema(t->name)
                        : json_pack("{s:s, s:s?, s:O?}", "name", t->name, "description",
                                    t->description, "parameters", t->parameters);
        if (v != NULL)
            json_array_append_new(list, v);
    }
    return json_pack("{s:o, s:i}", "tools", list, "tool_call_limit", a->tool_call_limit);
}

/* AgentResponse.model is {name: Agno's model class, model: id, provider},
 * spelled as Agno does from the provider table. */
static json_t *model_view(const agent_def_t *a)
{
    return json_pack("{s:s, s:s, s:s}", "name", model_provider_agno_class(a->provider), "model",
                     a->model_id, "provider", model_provider_agno_name(a->provider));
}

static json_t *system_message_view(const agent_def_t *a)
{
    json_t *v = json_object();
    if (a->description != NULL)
        json_object_set_new(v, "description", json_string(a->description));
    if (a->instructions != NULL)
        json_object_set_new(v, "instructions", json_string(a->instructions));
    return v;
}

/* Agno leaves out what is at its default (is_factory, filesystem, ... are
 * always there); "sessions" is our sessions table. */
static json_t *agent_view(const agent_def_t *a)
{
    json_t *v =
        json_pack("{s:s, s:s, s:s, s:b, s:s*, s:b, s:o, s:o, s:{s:s, s:b, s:i}, s:{s:b}, s:{s:b}}",
                  "id", a->id, "name", a->name ? a->name : a->id, "db_id", "agentos", "filesystem",
                  0, "description", a->description, "is_factory", 0, "model", model_view(a),
                  "tools", tools_view(a), "sessions", "session_table", "sessions",
                  "add_history_to_context", a->add_history_to_context, "num_history_runs",
                  a->num_history_runs, "reasoning", "reasoning", 0, "streaming", "stream", 1);
    json_t *sm = system_message_view(a);
    if (json_object_size(sm) > 0)
        json_object_set_new(v, "system_message", sm);
    else
        json_decref(sm);
    if (a->metadata != NULL)
        json_object_set(v, "metadata", a->metadata);
    json_object_set_new(v, "is_component", json_false());
    json_object_set_new(v, "sandboxed", json_false());
    return v;
}

/* A Control Plane token with only per-agent scopes sees only its agents. */
void agents_list(http_request_t *r)
{
    const agent_registry_t *reg = agents_of(r);
    json_t *list = json_array();
    for (size_t i = 0; i < reg->nagents; i++)
        if (route_scope_lists(r, reg->agents[i].id))
            json_array_append_new(list, agent_view(&reg->agents[i]));
    http_reply_json(r, 200, list);
}

void agents_get(http_request_t *r)
{
    char *id = api_path_id(r, 0, 128);
    if (id == NULL)
        return;
    const agent_def_t *a = registry_find(agents_of(r), id);
    if (a == NULL) {
        http_reply_error(r, 404, "NOT_FOUND", "Agent not found");
        return;
    }
    http_reply_json(r, 200, agent_view(a));
}

void models_list(http_request_t *r)
{
    const agent_registry_t *reg = agents_of(r);
    json_t *list = json_array();
    for (size_t i = 0; i < reg->nagents; i++) {
        const agent_def_t *a = &reg->agents[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(reg->agents[j].model_id, a->model_id) == 0 &&
                   strcmp(reg->agents[j].provider, a->provider) == 0;
        if (!seen)
            json_array_append_new(
                list, json_pack("{s:s, s:s}", "id", a->model_id, "provider", a->provider));
    }
    http_reply_json(r, 200, list);
}
