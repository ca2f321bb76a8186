/* A blocking GET on an easy handle of its own. The body goes into a
 * bounded buffer: the write callback refuses the first byte past the bound,
 * which ends the transfer at once. */
#include "net/http_fetch.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#define FETCH_CONNECT_MS 5000
#define FETCH_TOTAL_MS 10000

typedef struct sink {
    buf_t *out;
    int too_large;
} sink_t;

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t len = size * n;
    if (buf_append(s->out, p, len) != BUF_OK) {
        s->too_large = 1;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

static void set_options(CURL *c, const http_fetch_opts_t *o, sink_t *s, char *curl_err)
{
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a threaded process */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0 ? o->connect_timeout_ms : FETCH_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     o->total_timeout_ms > 0 ? o->total_timeout_ms : FETCH_TOTAL_MS);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "agentos/" AGENTOS_VERSION);
}

/* The reason of a failed transfer, one line. */
static void describe(CURLcode rc, const sink_t *s, const http_fetch_opts_t *o, const char *curl_err,
                     char *err, size_t errlen)
{
    if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(err, errlen, "larger than %zu bytes", o->max_bytes);
    else
        snprintf(err, errlen, "%s", curl_err[0] != '\0' ? curl_err : curl_easy_strerror(rc));
}

int http_fetch_get(const http_fetch_opts_t *o, buf_t *out, char *err, size_t errlen)
{
    buf_init(out, o->max_bytes);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    sink_t s = {out, 0};
    set_options(c, o, &s, curl_err);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        describe(rc, &s, o, curl_err, err, errlen);
    else if (status < 200 || status > 299)
        snprintf(err, errlen, "HTTP %ld", status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        buf_free(out);
        return -1;
    }
    return 0;
}
