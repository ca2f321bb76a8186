/* libFuzzer target for the upstream SSE path. The parser must give the
 * same events, the same result and the same leftover state however the
 * bytes are chunked (the first input bytes choose the bound and the
 * chunking); then the same bytes go through both providers' stream
 * decoders, which must fail cleanly or finish, never crash or leak, and
 * through model_error_message, which must stay short, valid and keyless. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "fuzz_target.h"
#include "net/sse_parser.h"

typedef struct digest {
    uint64_t hash;
    size_t count;
} digest_t;

static void digest_bytes(digest_t *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->hash = (d->hash ^ b[i]) * 1099511628211ull;
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    digest_t *d = ud;
    if (data[len] != '\0')
        abort(); /* the header promises a NUL at len */
    digest_bytes(d, event, strlen(event) + 1);
    digest_bytes(d, &len, sizeof(len));
    digest_bytes(d, data, len);
    d->count++;
    return 0;
}

typedef struct outcome {
    digest_t d;
    int rc, partial;
} outcome_t;

/* step 0: one chunk; otherwise chunks of 1..step bytes, varying. */
static outcome_t run_parser(const uint8_t *buf, size_t len, size_t max, size_t step)
{
    outcome_t o = {{14695981039346656037ull, 0}, 0, 0};
    sse_parser_t *p = sse_parser_new(max, on_event, &o.d);
    if (!p)
        abort();
    size_t at = 0, k = 0;
    while (at < len && o.rc == 0) {
        size_t n = step ? 1 + (k++ * 7) % step : len;
        if (n > len - at)
            n = len - at;
        o.rc = sse_parser_feed(p, (const char *)buf + at, n);
        at += n;
    }
    o.partial = sse_parser_finish(p);
    sse_parser_free(p);
    return o;
}

static void on_text(void *ud, const char *text, size_t len)
{
    (void)text;
    *(size_t *)ud += len;
}

static void run_model(const model_provider_t *provider, const uint8_t *buf, size_t len, size_t max)
{
    size_t seen = 0;
    model_events_t ev = {on_text, &seen};
    model_stream_t *s = model_stream_new(provider, &ev, max);
    if (!s)
        abort();
    size_t half = len / 2;
    int rc = model_stream_feed(s, (const char *)buf, half);
    if (rc == 0)
        rc = model_stream_feed(s, (const char *)buf + half, len - half);
    model_result_t r;
    if (rc == 0 && model_stream_finish(s, &r) == 0) {
        if (!r.content || strlen(r.content) > seen)
            abort();
        for (size_t i = 0; i < r.ntool_calls; i++)
            if (!r.tool_calls[i].id || !r.tool_calls[i].name || !r.tool_calls[i].arguments)
                abort();
        model_result_free(&r);
    } else if (!model_stream_error(s)) {
        abort(); /* every failure says why */
    }
    model_stream_free(s);
}

/* An error body becomes short, valid UTF-8 text without the key. */
static void run_error_message(const uint8_t *buf, size_t len)
{
    model_config_t cfg = {.provider = &model_provider_openai, .api_key = "sk-fuzz"};
    char *msg = model_error_message(&cfg, 400, (const char *)buf, len);
    if (!msg || strlen(msg) > 400 || strstr(msg, "sk-fuzz"))
        abort();
    json_t *s = json_string(msg);
    if (!s)
        abort();
    json_decref(s);
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = 1 + (size_t)data[0] * 4; /* small bounds reach the limits */
    size_t step = 1 + data[1] % 16;
    data += 2;
    size -= 2;
    outcome_t whole = run_parser(data, size, max, 0);
    outcome_t split = run_parser(data, size, max, step);
    outcome_t bytes = run_parser(data, size, max, 1);
    if (whole.rc != split.rc || whole.rc != bytes.rc || whole.partial != split.partial ||
        whole.partial != bytes.partial || whole.d.count != split.d.count ||
        whole.d.count != bytes.d.count || whole.d.hash != split.d.hash ||
        whole.d.hash != bytes.d.hash)
        abort();
    run_model(&model_provider_openai, data, size, 4096);
    run_model(&model_provider_anthropic, data, size, 4096);
    run_error_message(data, size);
    return 0;
}
