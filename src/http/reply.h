/* Replies: JSON bodies and JSON errors {"detail","code"}. */
#ifndef AGENTOS_HTTP_REPLY_H
#define AGENTOS_HTTP_REPLY_H

#include <jansson.h>

#include "http/request.h"

/* Sends body as the whole reply; takes ownership of body. */
void http_reply_json(http_request_t *r, int status, json_t *body);
void http_reply_error(http_request_t *r, int status, const char *code, const char *detail);
/* A reply with no body (204). */
void http_reply_empty(http_request_t *r, int status);
const char *http_reason(int status);
/* Serialises the error body used everywhere; malloc'd. */
char *http_error_body(const char *code, const char *detail, size_t *len);

#endif
