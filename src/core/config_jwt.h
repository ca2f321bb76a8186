/* The checks of the end-user token settings (internal to config.c): the
 * claim names JWT_WORKSPACE_CLAIM and JWT_SESSION_CLAIM, and the origin of
 * BETTER_AUTH_URL. Pure functions. */
#ifndef AGENTOS_CORE_CONFIG_JWT_H
#define AGENTOS_CORE_CONFIG_JWT_H

/* NULL when name can name an identity claim, else why not. */
const char *config_jwt_claim_problem(const char *name);

/* The origin of an http(s) URL as WHATWG's URL.origin writes it (better-auth
 * writes that as its tokens' iss and aud): lower-case scheme and host, the
 * port only when not the scheme's default, no user info, path, query or
 * fragment. malloc'd, or NULL when url is not an http(s) URL with a host. */
char *config_jwt_origin(const char *url);

#endif
