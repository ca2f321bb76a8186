/* Identifiers: random UUIDs and request ids. */
#ifndef AGENTOS_CORE_IDS_H
#define AGENTOS_CORE_IDS_H

#include <stddef.h>

#define IDS_UUID_LEN 36

/* Writes a random (version 4) UUID and a NUL into out[IDS_UUID_LEN + 1]. */
void ids_uuid4(char out[IDS_UUID_LEN + 1]);
/* True when a client-supplied request id is safe to log and echo back:
 * 1-128 bytes of [A-Za-z0-9._:-]. */
int ids_request_id_ok(const char *s, size_t len);

#endif
