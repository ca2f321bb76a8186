/* Agno's scope grammar (agno/os/scopes.py): "agent_os:admin",
 * "resource:action", "resource:<id>:action", "resource:*:action", with
 * "system" read as its new name "config". Pure functions, no allocation. */
#ifndef AGENTOS_AUTH_SCOPES_H
#define AGENTOS_AUTH_SCOPES_H

#include <stddef.h>

#include "auth/tenant.h"

#define SCOPES_ADMIN "agent_os:admin"

/* True when the caller's scopes grant required ("resource:action", or a
 * 3-part scope checked as written). When resource_id is given and required's
 * resource is resource_type, the grant is for that one resource: the caller
 * needs resource:action, resource:*:action or resource:<resource_id>:action.
 * A scope from another family is never rewritten (scopes.py's rule). */
int scopes_grant(const char *const *have, size_t nhave, const char *required,
                 const char *resource_type, const char *resource_id);

/* scopes_grant over a tenant's packed scopes. A tenant that is not scoped
 * (the security key, end users) is granted everything here: end users are
 * bounded by their workspace instead, never by scopes. */
int scopes_tenant_grants(const auth_tenant_t *t, const char *required, const char *resource_type,
                         const char *resource_id);

#endif
