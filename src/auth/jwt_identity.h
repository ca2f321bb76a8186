/* The identity half of the shared claim check (internal to jwt_claims.c):
 * is this a login token at all, and who does it name. */
#ifndef AGENTOS_AUTH_JWT_IDENTITY_H
#define AGENTOS_AUTH_JWT_IDENTITY_H

#include "auth/jwt_claims.h"

/* JWT_OK when the header's typ is absent or names a login token. */
jwt_status_t jwt_identity_typ(const json_t *header, jwt_refusal_t *why);

/* Reads sub, the session and workspace claims of rules, email and name
 * into *out. JWT_OK, or JWT_INVALID with the claim at fault in *why. */
jwt_status_t jwt_identity_read(const json_t *claims, const jwt_claim_rules_t *rules,
                               auth_tenant_t *out, jwt_refusal_t *why);

#endif
