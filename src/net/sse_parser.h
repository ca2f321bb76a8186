/* An incremental, bounded Server-Sent Events parser (WHATWG rules): lines
 * end in CR, LF or CRLF, anywhere across chunk boundaries; ':' lines are
 * comments; several data: lines join with '\n'; an empty line dispatches.
 * No well-kept C library does this, hence our own, with a fuzz target. */
#ifndef AGENTOS_NET_SSE_PARSER_H
#define AGENTOS_NET_SSE_PARSER_H

#include <stddef.h>

/* One dispatched event. event is "message" when the stream named none.
 * Both strings are NUL-terminated and valid only during the call. Return
 * non-zero to stop parsing (sse_parser_feed then returns -1). */
typedef int (*sse_event_fn)(void *ud, const char *event, const char *data, size_t data_len);

typedef struct sse_parser sse_parser_t;

/* max_event_bytes bounds the buffered line and event data. */
sse_parser_t *sse_parser_new(size_t max_event_bytes, sse_event_fn cb, void *ud);
void sse_parser_free(sse_parser_t *p);
/* Feeds bytes. 0, or -1 when an event outgrew the bound or cb stopped it
 * (the parser must not be fed again after -1). */
int sse_parser_feed(sse_parser_t *p, const char *buf, size_t len);
/* At end of stream: a partial event without its empty line is dropped, as
 * the spec says. Returns 1 when something was left unfinished. */
int sse_parser_finish(sse_parser_t *p);

#endif
