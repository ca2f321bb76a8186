/* The caller's tenant context, taken from a verified token. Fixed-size so it
 * can be copied by value into request state without an owner to track. */
#ifndef AGENTOS_AUTH_TENANT_H
#define AGENTOS_AUTH_TENANT_H

#include "core/ids.h"

#define AUTH_ID_MAX (IDS_MAX_BYTES + 1) /* user_id, session_id, workspace_id, incl. NUL */
#define AUTH_TEXT_MAX 256               /* email, name, incl. NUL; longer ones are cut */

typedef struct auth_tenant {
    int authenticated; /* 0: no Authorization header (public routes only) */
    char user_id[AUTH_ID_MAX];
    char session_id[AUTH_ID_MAX];
    char workspace_id[AUTH_ID_MAX]; /* "" when the token has no workspaceId */
    char email[AUTH_TEXT_MAX];
    char name[AUTH_TEXT_MAX];
} auth_tenant_t;

#endif
