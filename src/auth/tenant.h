/* The caller's tenant context, taken from a verified token. Fixed-size so it
 * can be copied by value into request state without an owner to track. */
#ifndef AGENTOS_AUTH_TENANT_H
#define AGENTOS_AUTH_TENANT_H

#include "core/ids.h"

#define AUTH_ID_MAX (IDS_MAX_BYTES + 1) /* user_id, session_id, workspace_id, incl. NUL */
#define AUTH_TEXT_MAX 256               /* email, name, incl. NUL; longer ones are cut */

/* Who is calling. USER is 0 so a zeroed tenant is never more than a user. */
typedef enum {
    AUTH_PRINCIPAL_USER = 0, /* a better-auth end-user token: never an operator */
    AUTH_PRINCIPAL_SERVICE,  /* OS_SECURITY_KEY with X-Workspace-Id: a user of that workspace */
    AUTH_PRINCIPAL_OPERATOR, /* OS_SECURITY_KEY without X-Workspace-Id */
} auth_principal_t;

typedef struct auth_tenant {
    int authenticated; /* 0: no Authorization header (public routes only) */
    auth_principal_t kind;
    char user_id[AUTH_ID_MAX];
    char session_id[AUTH_ID_MAX];
    char workspace_id[AUTH_ID_MAX]; /* "" when the token has no workspaceId */
    char email[AUTH_TEXT_MAX];
    char name[AUTH_TEXT_MAX];
} auth_tenant_t;

#endif
