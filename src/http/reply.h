/* Replies: JSON bodies and JSON errors {"detail","code"}, other bodies,
 * and the headers that go with them. */
#ifndef AGENTOS_HTTP_REPLY_H
#define AGENTOS_HTTP_REPLY_H

#include <jansson.h>

#include "http/request.h"

/* Sends body as the whole reply; takes ownership of body. */
void http_reply_json(http_request_t *r, int status, json_t *body);

#define HTTP_RENDER_TOO_LARGE 1
/* Serialises body (not taken) into *out (malloc'd, *len bytes and a NUL).
 * cap > 0: past cap bytes it stops and returns
 * HTTP_RENDER_TOO_LARGE with nothing kept, so a huge body never takes more
 * than cap. -1: out of memory. Touches no request: any thread may call it. */
int http_json_render(const json_t *body, size_t cap, char **out, size_t *len);
/* Sends a JSON body already serialised (malloc'd; taken), through a
 * generator in pieces when it is big: the loop never writes it in one go. */
void http_reply_bytes(http_request_t *r, int status, char *body, size_t len);
/* Sends bytes that outlive the request (read-only for the process's life),
 * in the same pieces, never copied or freed. */
void http_reply_static(http_request_t *r, int status, const char *type, const char *body,
                       size_t len);
/* Sends a copy of body (len bytes, not taken) as a reply of type. */
void http_reply_copy(http_request_t *r, int status, const char *type, const char *body, size_t len);
void http_reply_error(http_request_t *r, int status, const char *code, const char *detail);
/* A reply with no body (204). */
void http_reply_empty(http_request_t *r, int status);
/* Adds "name: value" to the reply still to be sent, both copied. -1 and
 * nothing added when name is not a lower-case HTTP token or value holds CR,
 * LF or NUL: no value can end the header line early and inject another. */
int http_reply_header(http_request_t *r, const char *name, const char *value, size_t len);
/* Retry-After: secs (at least 1), for a 429 or 503 about to be sent. */
void http_reply_retry_after(http_request_t *r, int secs);
const char *http_reason(int status);
/* Serialises the error body used everywhere; malloc'd. */
char *http_error_body(const char *code, const char *detail, size_t *len);

#endif
