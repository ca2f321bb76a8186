/* OS_SECURITY_KEY: the shared secret of service callers and operators. */
#ifndef AGENTOS_AUTH_SERVICE_KEY_H
#define AGENTOS_AUTH_SERVICE_KEY_H

#include <stddef.h>

/* 1 when bearer[0..len) equals the NUL-terminated key, else 0 (also for a
 * NULL or empty key). Both sides are hashed first, so the time taken depends
 * on neither the key's bytes nor where the two first differ. */
int service_key_matches(const char *key, const char *bearer, size_t len);

#endif
