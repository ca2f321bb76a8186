/* What /info reports as auth_mode, in Agno's words (agno/os/auth.py's
 * get_effective_auth_mode): which credential the Control Plane should use. */
#ifndef AGENTOS_AUTH_AUTH_MODE_H
#define AGENTOS_AUTH_AUTH_MODE_H

#include "core/config.h"

/* "jwt" when a Control Plane key is configured (JWT_VERIFICATION_KEY or
 * JWT_JWKS_FILE), as Agno puts JWT over the key; else "security_key" when
 * OS_SECURITY_KEY is set; else "jwt" again: this service is never open, every
 * protected route takes the end users' JWTs. Never "none". A static string. */
const char *auth_mode_name(const config_t *cfg);

#endif
