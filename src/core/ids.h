/* Identifiers: random UUIDs and request ids. */
#ifndef AGENTOS_CORE_IDS_H
#define AGENTOS_CORE_IDS_H

#include <stddef.h>

#define IDS_UUID_LEN 36
#define IDS_MAX_BYTES 128 /* the id rule's bound, without the NUL */

/* Writes a random (version 4) UUID and a NUL into out[IDS_UUID_LEN + 1]. */
void ids_uuid4(char out[IDS_UUID_LEN + 1]);
/* True when a client-supplied request id is safe to log and echo back:
 * 1-128 bytes of [A-Za-z0-9._:-]. */
int ids_request_id_ok(const char *s, size_t len);
/* The one rule for every id that enters the system (session, run, agent,
 * the token's sub and workspaceId): 1 to IDS_MAX_BYTES bytes of valid
 * UTF-8 with no control character (C0, DEL, C1), so an id can never break
 * a header line, a log line or a C string. s need not be NUL-terminated. */
int ids_valid(const char *s, size_t len);

#endif
