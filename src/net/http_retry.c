/* The retry policy of net/http_client: pure functions, see http_retry.h. */
#include "net/http_retry.h"

#include <stdlib.h>
#include <string.h>

long http_retry_parse_after(const char *v, size_t n, int is_ms, time_t now)
{
    char buf[64];
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end == '\0' && d >= 0 && d < 86400.0 * 1000)
        return (long)(is_ms ? d : d * 1000);
    if (is_ms)
        return -1;
    /* curl_getdate reads the three HTTP date forms and touches no state. */
    time_t at = curl_getdate(buf, NULL);
    if (at < 0)
        return -1;
    return at > now ? (long)(at - now) * 1000 : 0;
}

int http_retry_status_retryable(long status)
{
    return status == 429 || status >= 500;
}

int http_retry_curl_retryable(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

long http_retry_delay_ms(backoff_rng_t *rng, long base_ms, long max_ms, int attempt,
                         long retry_after_ms)
{
    if (retry_after_ms >= 0)
        return retry_after_ms < max_ms ? retry_after_ms : max_ms;
    /* Both bounds are positive: the call's options clamp them. */
    return (long)backoff_delay_ms(rng, (uint64_t)base_ms, (uint64_t)max_ms,
                                  attempt > 0 ? (unsigned)attempt : 0);
}

int http_retry_fits(uint64_t now, uint64_t deadline, long delay_ms)
{
    return deadline == 0 || now + (uint64_t)delay_ms < deadline;
}
