/* Outgoing request headers: built and checked so that no value from a
 * request, a token, a model or a YAML file can end a header line early
 * (CR, LF) or cut it short (NUL) and so inject headers or a second request. */
#ifndef AGENTOS_NET_HTTP_HEADERS_H
#define AGENTOS_NET_HTTP_HEADERS_H

#include <curl/curl.h>
#include <stddef.h>

/* Appends "name: value" (value_len bytes) to *list. -1, *list unchanged,
 * when name is not an HTTP token, value holds CR, LF or NUL, or memory ran
 * out. */
int http_headers_add(struct curl_slist **list, const char *name, const char *value,
                     size_t value_len);
/* Checks every line of a list however it was built: a token name, then ':'
 * (or ';', curl's empty header), then a value without CR or LF. 0 when all
 * pass; else -1 with the first bad line's name (or "?" when the name itself
 * is bad) in bad_name[cap], which is safe to log: a token, never a value. */
int http_headers_check(const struct curl_slist *list, char *bad_name, size_t cap);

#endif
