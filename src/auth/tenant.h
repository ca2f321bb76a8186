/* The caller's tenant context, taken from a verified token. Fixed-size so it
 * can be copied by value into request state without an owner to track. */
#ifndef AGENTOS_AUTH_TENANT_H
#define AGENTOS_AUTH_TENANT_H

#include "core/ids.h"

#define AUTH_ID_MAX (IDS_MAX_BYTES + 1) /* user_id, session_id, workspace_id, incl. NUL */
#define AUTH_TEXT_MAX 256               /* email, name, incl. NUL; longer ones are cut */
#define AUTH_SCOPES_MAX 64              /* scopes one Control Plane token may carry */
#define AUTH_SCOPE_MAX 128              /* one scope, without the NUL */
#define AUTH_SCOPES_BYTES 1024          /* all of them, each with its NUL */

/* Who is calling. USER is 0 so a zeroed tenant is never more than a user. */
typedef enum {
    AUTH_PRINCIPAL_USER = 0, /* a better-auth end-user token: never an operator */
    AUTH_PRINCIPAL_SERVICE,  /* OS_SECURITY_KEY with X-Workspace-Id: a user of that workspace */
    AUTH_PRINCIPAL_OPERATOR, /* OS_SECURITY_KEY without X-Workspace-Id, or a Control Plane
                                token (scoped = 1) */
} auth_principal_t;

typedef struct auth_tenant {
    int authenticated; /* 0: no Authorization header (public routes only) */
    auth_principal_t kind;
    char user_id[AUTH_ID_MAX];
    char session_id[AUTH_ID_MAX];
    char workspace_id[AUTH_ID_MAX]; /* "" when the token has no workspaceId */
    char email[AUTH_TEXT_MAX];
    char name[AUTH_TEXT_MAX];
    /* A Control Plane token's grants: scoped = 1 and nscopes strings packed
     * NUL-separated in scopes. scoped = 0 (the key, end users): no scope check. */
    int scoped;
    unsigned nscopes;
    char scopes[AUTH_SCOPES_BYTES];
} auth_tenant_t;

#endif
