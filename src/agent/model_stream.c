/* Decoding one streamed reply: SSE events go to the provider's handler,
 * which adds text and tool-call pieces here; finish assembles the result.
 * Everything kept is bounded (per event by the SSE parser, in sum by
 * max_reply and MODEL_MAX_TOOL_CALLS, each tool call's parts by
 * MODEL_MAX_TOOL_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "agent/model_internal.h"
#include "agent/model_scan.h"

#define MODEL_DEFAULT_EVENT_BYTES ((size_t)1 << 20)

static int model_stream_on_event(void *ud, const char *event, const char *data, size_t len)
{
    model_stream_t *s = ud;
    if (s->failed)
        return -1;
    int rc = s->provider->on_event(s, event, data, len);
    return rc != 0 || s->failed ? -1 : 0;
}

model_stream_t *model_stream_new(const model_provider_t *provider, const model_events_t *ev,
                                 size_t max_event_bytes)
{
    model_stream_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->provider = provider != NULL ? provider : model_provider_at(0);
    s->max_reply = MODEL_DEFAULT_MAX_REPLY;
    buf_init(&s->content, s->max_reply);
    if (ev)
        s->ev = *ev;
    size_t max_event = max_event_bytes ? max_event_bytes : MODEL_DEFAULT_EVENT_BYTES;
    buf_init(&s->scan, max_event); /* unescaped text is never longer than its event */
    s->sse = sse_parser_new(max_event, model_stream_on_event, s);
    if (!s->sse) {
        free(s);
        return NULL;
    }
    return s;
}

void model_stream_set_max_reply(model_stream_t *s, size_t max_reply)
{
    if (!s || max_reply == 0)
        return;
    s->max_reply = max_reply;
    /* Set before the first text; the sum is checked in model_stream_put. */
    if (buf_len(&s->content) == 0) {
        buf_free(&s->content);
        buf_init(&s->content, max_reply);
    }
}

static void model_stream_clear_slots(model_stream_t *s)
{
    for (size_t i = 0; i < s->nslots; i++) {
        buf_free(&s->slots[i].id);
        buf_free(&s->slots[i].name);
        buf_free(&s->slots[i].args);
    }
    free(s->slots);
    s->slots = NULL;
    s->nslots = 0;
}

void model_stream_free(model_stream_t *s)
{
    if (!s)
        return;
    sse_parser_free(s->sse);
    buf_free(&s->content);
    buf_free(&s->scan);
    model_stream_clear_slots(s);
    free(s->stop_reason);
    free(s->error);
    free(s->response_id);
    free(s);
}

int model_stream_fail(model_stream_t *s, const char *msg)
{
    if (!s->failed) {
        s->failed = 1;
        s->error = strdup(msg); /* NULL on OOM: model_stream_error says so */
    }
    return -1;
}

int model_stream_fail_text(model_stream_t *s, const char *prefix, const char *text, size_t len)
{
    char *clean = model_text_clean(text, len, MODEL_MAX_ERROR_CHARS, 0);
    size_t n = strlen(prefix) + (clean ? strlen(clean) : 0) + 1;
    char *msg = malloc(n);
    if (msg)
        snprintf(msg, n, "%s%s", prefix, clean ? clean : "");
    model_stream_fail(s, msg ? msg : prefix);
    free(msg);
    free(clean);
    return -1;
}

int model_stream_put(model_stream_t *s, buf_t *b, const char *text, size_t len)
{
    if (s->total > s->max_reply || len > s->max_reply - s->total)
        return model_stream_fail(s, "the model's reply is too large");
    buf_rc_t rc = buf_append(b, text, len);
    if (rc == BUF_TOO_LARGE)
        return model_stream_fail(s, "the model's reply is too large");
    if (rc != BUF_OK)
        return model_stream_fail(s, "out of memory reading the model's reply");
    s->total += len;
    s->progress += len;
    return 0;
}

static int put_bounded(model_stream_t *s, buf_t *b, const char *text, size_t len, size_t cap,
                       const char *what)
{
    if (buf_len(b) > cap || len > cap - buf_len(b)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the model sent a tool call %s longer than %zu bytes", what,
                 cap);
        return model_stream_fail(s, msg);
    }
    return model_stream_put(s, b, text, len);
}

int model_stream_put_id(model_stream_t *s, model_slot_t *slot, const char *text, size_t len)
{
    return put_bounded(s, &slot->id, text, len, MODEL_MAX_TOOL_ID, "id");
}

int model_stream_put_name(model_stream_t *s, model_slot_t *slot, const char *text, size_t len)
{
    return put_bounded(s, &slot->name, text, len, MODEL_MAX_TOOL_NAME, "name");
}

int model_stream_put_args(model_stream_t *s, model_slot_t *slot, const char *text, size_t len)
{
    return put_bounded(s, &slot->args, text, len, MODEL_MAX_TOOL_ARGS, "arguments");
}

int model_stream_text(model_stream_t *s, const char *text, size_t len)
{
    if (len == 0)
        return 0;
    if (model_stream_put(s, &s->content, text, len) != 0)
        return -1;
    if (s->ev.on_text)
        s->ev.on_text(s->ev.ud, text, len);
    return 0;
}

int model_stream_scanned(model_stream_t *s, const model_scan_t *sc)
{
    if (sc->id != NULL && s->response_id == NULL && sc->id_len <= MODEL_MAX_TOOL_ID) {
        char id[MODEL_MAX_TOOL_ID + 1]; /* as it was in the event: it had no escape */
        memcpy(id, sc->id, sc->id_len);
        id[sc->id_len] = '\0';
        model_stream_set_response_id(s, id);
    }
    return sc->text != NULL ? model_stream_text(s, sc->text, sc->text_len) : 0;
}

model_slot_t *model_stream_slot(model_stream_t *s, long index, int create)
{
    size_t at = 0;
    while (at < s->nslots && s->slots[at].index < index)
        at++;
    if (at < s->nslots && s->slots[at].index == index)
        return &s->slots[at];
    if (!create)
        return NULL;
    if (s->nslots >= MODEL_MAX_TOOL_CALLS) {
        model_stream_fail(s, "the model asked for too many tool calls");
        return NULL;
    }
    model_slot_t *slots = realloc(s->slots, (s->nslots + 1) * sizeof(*slots));
    if (!slots) {
        model_stream_fail(s, "out of memory reading the model's reply");
        return NULL;
    }
    s->slots = slots;
    /* Kept in index order, which is the order the model gave them. */
    memmove(&slots[at + 1], &slots[at], (s->nslots - at) * sizeof(*slots));
    memset(&slots[at], 0, sizeof(*slots));
    slots[at].index = index;
    buf_init(&slots[at].id, MODEL_MAX_TOOL_ID);
    buf_init(&slots[at].name, MODEL_MAX_TOOL_NAME);
    buf_init(&slots[at].args, MODEL_MAX_TOOL_ARGS);
    s->nslots++;
    return &slots[at];
}

int model_stream_set_stop(model_stream_t *s, const char *reason)
{
    char *r = strdup(reason);
    if (!r)
        return model_stream_fail(s, "out of memory reading the model's reply");
    /* The reply's end is progress too, once: a repeated one is not. */
    if (!s->stop_reason)
        s->progress++;
    free(s->stop_reason);
    s->stop_reason = r;
    return 0;
}

int model_stream_feed(model_stream_t *s, const char *buf, size_t len)
{
    if (!s)
        return -1;
    s->bytes += len;
    if (s->failed)
        return -1;
    if (s->finished)
        return model_stream_fail(s, "the stream was already finished");
    if (sse_parser_feed(s->sse, buf, len) != 0)
        return model_stream_fail(s, "the model's stream could not be read (an event too large)");
    return 0;
}

/* Moves one assembled call into out; ids are made up for servers that
 * send none, so that tool results can still be matched to their call. */
static int model_take_call(model_stream_t *s, model_slot_t *slot, model_tool_call_t *out)
{
    if (buf_len(&slot->name) == 0)
        return model_stream_fail(s, "the model sent a tool call without a name");
    if (buf_len(&slot->id) == 0 && buf_printf(&slot->id, "call_%ld", slot->index) != BUF_OK)
        return model_stream_fail(s, "out of memory reading the model's reply");
    if (buf_len(&slot->args) == 0 && buf_append_str(&slot->args, "{}") != BUF_OK)
        return model_stream_fail(s, "out of memory reading the model's reply");
    out->id = buf_take(&slot->id, NULL);
    out->name = buf_take(&slot->name, NULL);
    out->arguments = buf_take(&slot->args, NULL);
    return out->id && out->name && out->arguments ? 0 : model_stream_fail(s, "out of memory");
}

static int model_take_calls(model_stream_t *s, model_result_t *out)
{
    if (s->nslots == 0)
        return 0;
    out->tool_calls = calloc(s->nslots, sizeof(*out->tool_calls));
    if (!out->tool_calls)
        return model_stream_fail(s, "out of memory reading the model's reply");
    for (size_t i = 0; i < s->nslots; i++) {
        out->ntool_calls = i + 1;
        if (model_take_call(s, &s->slots[i], &out->tool_calls[i]) != 0)
            return -1;
    }
    return 0;
}

int model_stream_finish(model_stream_t *s, model_result_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!s)
        return -1;
    if (s->finished)
        return model_stream_fail(s, "the stream was already finished");
    s->finished = 1;
    sse_parser_finish(s->sse); /* an unterminated last event is dropped */
    if (s->failed)
        return -1;
    if (!s->done && !s->stop_reason)
        return model_stream_fail(s, "the stream ended early");
    out->input_tokens = s->input_tokens;
    out->output_tokens = s->output_tokens;
    if (model_take_calls(s, out) != 0) {
        model_result_free(out);
        return -1;
    }
    /* Some OpenAI-compatible servers say "stop" while calling tools; the
     * run loop goes by stop_reason, so make it say what happened. */
    const char *reason = s->stop_reason;
    if (out->ntool_calls && (!reason || strcmp(reason, "stop") == 0))
        reason = "tool_calls";
    out->stop_reason = reason ? strdup(reason) : NULL;
    out->content = buf_take(&s->content, NULL);
    model_stream_clear_slots(s);
    s->total = 0;
    if (!out->content || (reason && !out->stop_reason)) {
        model_result_free(out);
        return model_stream_fail(s, "out of memory reading the model's reply");
    }
    return 0;
}

const char *model_stream_error(const model_stream_t *s)
{
    if (!s || !s->failed)
        return NULL;
    return s->error ? s->error : "out of memory";
}

size_t model_stream_bytes(const model_stream_t *s)
{
    return s ? s->bytes : 0;
}

size_t model_stream_progress(const model_stream_t *s)
{
    return s ? s->progress : 0;
}

void model_stream_set_response_id(model_stream_t *s, const char *id)
{
    if (s->response_id != NULL || id == NULL || id[0] == '\0' || strlen(id) > MODEL_MAX_TOOL_ID)
        return;
    s->response_id = strdup(id); /* without it, the events only lack the id */
}

const char *model_stream_text_so_far(const model_stream_t *s, size_t *len)
{
    *len = s != NULL ? buf_len(&s->content) : 0;
    return s != NULL ? buf_ptr(&s->content) : "";
}

const char *model_stream_response_id(const model_stream_t *s)
{
    return s != NULL ? s->response_id : NULL;
}
