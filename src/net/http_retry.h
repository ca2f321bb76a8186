/* The HTTP client's retry policy as pure functions: which failures retry,
 * how long to wait (back-off with jitter, or the server's Retry-After), and
 * reading Retry-After. No loop, no handles: the unit tests call them. */
#ifndef AGENTOS_NET_HTTP_RETRY_H
#define AGENTOS_NET_HTTP_RETRY_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/backoff.h"

/* A Retry-After value (n bytes, surrounding blanks and CR LF allowed):
 * seconds or an HTTP date (now is the clock to measure it from), or with
 * is_ms (retry-after-ms) milliseconds. In ms; -1 when unreadable, 0 for a
 * date in the past. */
long http_retry_parse_after(const char *v, size_t n, int is_ms, time_t now);

/* 429 and 5xx: the server may answer later. */
int http_retry_status_retryable(long status);

/* Failures before any answer: the request most likely never reached the
 * server, or it stayed silent. */
int http_retry_curl_retryable(CURLcode res);

/* The wait before retry number attempt + 1 (attempt: retries so far): the
 * server's retry_after_ms (>= 0) capped at max_ms, else back-off from
 * base_ms doubling per attempt, capped at max_ms. Both bounds positive. */
long http_retry_delay_ms(backoff_rng_t *rng, long base_ms, long max_ms, int attempt,
                         long retry_after_ms);

/* 1 when a deadline (0: none) leaves room for a wait of delay_ms from now. */
int http_retry_fits(uint64_t now, uint64_t deadline, long delay_ms);

#endif
