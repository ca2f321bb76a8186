/* The two event shapes the fast path reads (model_scan.h), member by
 * member: what the jansson path would read is read here (once: a repeated
 * key is jansson's, which keeps the last), what it would ignore is checked
 * and skipped when it is a scalar, and anything the jansson path would act
 * on otherwise (a tool call, a finish reason, usage, an error, reasoning,
 * a second choice) makes the event not ours. */
#include <string.h>

#include "agent/model_scan.h"
#include "agent/model_scan_internal.h"

/* The keys read, one bit each, per level of the shape. */
enum {
    SEEN_ID = 1u << 0,
    SEEN_ERROR = 1u << 1,
    SEEN_USAGE = 1u << 2,
    SEEN_CHOICES = 1u << 3,
    SEEN_INDEX = 1u << 4,
    SEEN_DELTA = 1u << 5,
    SEEN_FINISH = 1u << 6,
    SEEN_TEXT = 1u << 7,
    SEEN_TYPE = 1u << 8,
    SEEN_DELTA_TYPE = 1u << 9,
};

typedef struct shape {
    unsigned seen;
    scan_str_t id, text;
    int has_id, has_text;
} shape_t;

static int once(shape_t *sh, unsigned bit)
{
    if (sh->seen & bit)
        return -1;
    sh->seen |= bit;
    return 0;
}

/* A string member the shape names: no escape, exactly want. */
static int scan_word(scan_cur_t *c, const char *want)
{
    scan_str_t s;
    return scan_str(c, &s) == 0 && !s.esc && scan_key_is(&s, want) ? 0 : -1;
}

static int scan_text(scan_cur_t *c, shape_t *sh)
{
    if (once(sh, SEEN_TEXT) != 0 || scan_str(c, &sh->text) != 0)
        return -1;
    sh->has_text = 1;
    return 0;
}

/* ---- OpenAI: {"id":..,"choices":[{"index":0,"delta":{"content":..}}]} ---- */

static int openai_delta(scan_cur_t *c, const scan_str_t *key, void *ctx)
{
    shape_t *sh = ctx;
    if (scan_key_is(key, "content")) {
        if (scan_null(c))
            return once(sh, SEEN_TEXT);
        return scan_text(c, sh);
    }
    /* Reasoning is counted as progress and tool calls are assembled:
     * the jansson path's work, unless there are none. */
    if (scan_key_is(key, "reasoning_content") || scan_key_is(key, "reasoning") ||
        scan_key_is(key, "tool_calls"))
        return scan_null(c) ? 0 : -1;
    return scan_skip_scalar(c); /* role, refusal: not read */
}

static int openai_choice(scan_cur_t *c, const scan_str_t *key, void *ctx)
{
    shape_t *sh = ctx;
    if (scan_key_is(key, "index")) {
        long long ix = -1; /* another choice than the first is skipped: jansson's */
        return once(sh, SEEN_INDEX) == 0 && scan_int(c, &ix) == 0 && ix == 0 ? 0 : -1;
    }
    if (scan_key_is(key, "delta"))
        return once(sh, SEEN_DELTA) == 0 ? scan_object(c, openai_delta, sh) : -1;
    if (scan_key_is(key, "finish_reason")) /* the reply's end: jansson's */
        return once(sh, SEEN_FINISH) == 0 && scan_null(c) ? 0 : -1;
    return scan_skip_scalar(c); /* logprobs: null */
}

static int openai_choices(scan_cur_t *c, shape_t *sh)
{
    if (!scan_eat(c, '['))
        return -1;
    if (scan_eat(c, ']'))
        return 0;
    /* One choice: we never ask for n > 1. */
    return scan_object(c, openai_choice, sh) == 0 && scan_eat(c, ']') ? 0 : -1;
}

static int openai_root(scan_cur_t *c, const scan_str_t *key, void *ctx)
{
    shape_t *sh = ctx;
    if (scan_key_is(key, "id")) {
        if (once(sh, SEEN_ID) != 0)
            return -1;
        if (scan_null(c))
            return 0;
        sh->has_id = 1;
        return scan_str(c, &sh->id) == 0 && !sh->id.esc ? 0 : -1;
    }
    if (scan_key_is(key, "error")) /* anything but null is an error event */
        return once(sh, SEEN_ERROR) == 0 && scan_null(c) ? 0 : -1;
    if (scan_key_is(key, "usage"))
        return once(sh, SEEN_USAGE) == 0 && scan_null(c) ? 0 : -1;
    if (scan_key_is(key, "choices"))
        return once(sh, SEEN_CHOICES) == 0 ? openai_choices(c, sh) : -1;
    return scan_skip_scalar(c); /* object, created, model, system_fingerprint, ... */
}

/* ---- Anthropic: {"type":"content_block_delta","delta":{"type":"text_delta","text":..}} ---- */

static int anthropic_delta(scan_cur_t *c, const scan_str_t *key, void *ctx)
{
    shape_t *sh = ctx;
    if (scan_key_is(key, "type"))
        return once(sh, SEEN_DELTA_TYPE) == 0 ? scan_word(c, "text_delta") : -1;
    if (scan_key_is(key, "text"))
        return scan_text(c, sh);
    return scan_skip_scalar(c);
}

static int anthropic_root(scan_cur_t *c, const scan_str_t *key, void *ctx)
{
    shape_t *sh = ctx;
    if (scan_key_is(key, "type"))
        return once(sh, SEEN_TYPE) == 0 ? scan_word(c, "content_block_delta") : -1;
    if (scan_key_is(key, "delta"))
        return once(sh, SEEN_DELTA) == 0 ? scan_object(c, anthropic_delta, sh) : -1;
    return scan_skip_scalar(c); /* index: only tool input reads it */
}

/* ---- results ---- */

static int scan_result(const shape_t *sh, buf_t *scratch, model_scan_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sh->has_id) {
        out->id = sh->id.s;
        out->id_len = sh->id.len;
    }
    if (!sh->has_text)
        return 1;
    if (!sh->text.esc) {
        out->text = sh->text.s;
        out->text_len = sh->text.len;
        return 1;
    }
    if (scan_unescape(&sh->text, scratch) != 0)
        return 0;
    out->text = buf_ptr(scratch);
    out->text_len = buf_len(scratch);
    return 1;
}

static int scan_event(const char *data, size_t len, scan_member_fn root, shape_t *sh)
{
    scan_cur_t c = {(const unsigned char *)data, (const unsigned char *)data + len};
    return scan_object(&c, root, sh) == 0 && scan_end(&c) == 0 ? 0 : -1;
}

int model_scan_openai(const char *data, size_t len, buf_t *scratch, model_scan_t *out)
{
    shape_t sh = {0};
    if (scan_event(data, len, openai_root, &sh) != 0)
        return 0;
    return scan_result(&sh, scratch, out);
}

int model_scan_anthropic(const char *data, size_t len, buf_t *scratch, model_scan_t *out)
{
    shape_t sh = {0};
    if (scan_event(data, len, anthropic_root, &sh) != 0)
        return 0;
    /* Both types named: the root's is how jansson's path dispatches. */
    if ((sh.seen & (SEEN_TYPE | SEEN_DELTA_TYPE)) != (SEEN_TYPE | SEEN_DELTA_TYPE))
        return 0;
    return scan_result(&sh, scratch, out);
}
