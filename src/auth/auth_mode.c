#include "auth/auth_mode.h"

#include <stddef.h>

static int set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

const char *auth_mode_name(const config_t *cfg)
{
    if (cfg == NULL)
        return "jwt";
    if (set(cfg->jwt_verification_key) || set(cfg->jwt_jwks_file))
        return "jwt";
    if (set(cfg->os_security_key))
        return "security_key";
    return "jwt";
}
