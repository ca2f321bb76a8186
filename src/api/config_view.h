/* GET /config's body: Agno's ConfigResponse, built once at start from the
 * loaded agents, the models they use and the store. */
#ifndef AGENTOS_API_CONFIG_VIEW_H
#define AGENTOS_API_CONFIG_VIEW_H

#include <jansson.h>

#include "agent/registry.h"

#define CONFIG_VIEW_NAME "AgentOS API"

/* os_id and the store's back end name ("sqlite", "postgres") as given;
 * NULL only when memory runs out. */
json_t *config_view_build(const char *os_id, const char *backend, const agent_registry_t *agents);

#endif
