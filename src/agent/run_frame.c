/* RunContent frames from a pre-serialised head and tail (run_frame.h).
 * The constant parts are json_dumps' own output, so their escaping and
 * key order are jansson's by construction; only the delta and the
 * created_at number are written here, as json_dumps writes them. */
#include "agent/run_frame.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* A frame this large is let go of once sent: a run keeps no big buffer
 * for the one large delta it saw. */
#define RUN_FRAME_KEEP 4096

void run_frame_free(run_frame_t *f)
{
    free(f->head);
    free(f->tail);
    free(f->tail_id);
    buf_free(&f->out);
    memset(f, 0, sizeof(*f));
}

/* obj (owned) as compact JSON without its outer braces: "k":v,...;
 * malloc'd, NULL when out of memory. */
static char *inner_json(json_t *obj, size_t *len)
{
    char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    memmove(s, s + 1, n - 2);
    s[n - 2] = '\0';
    *len = n - 2;
    return s;
}

/* pre + obj's members + post, malloc'd into *out. */
static int join(json_t *obj, const char *pre, const char *post, char **out, size_t *out_len)
{
    size_t n;
    char *inner = inner_json(obj, &n);
    if (inner == NULL)
        return -1;
    buf_t b;
    buf_init(&b, RUN_FRAME_MAX);
    int rc = buf_append_str(&b, pre) == BUF_OK && buf_append(&b, inner, n) == BUF_OK &&
                     buf_append_str(&b, post) == BUF_OK
                 ? 0
                 : -1;
    free(inner);
    *out = rc == 0 ? buf_take(&b, out_len) : NULL;
    return *out != NULL ? 0 : -1;
}

/* The fields every frame carries but created_at, in send_event's order. */
static int build_head(run_frame_t *f, const run_frame_ids_t *ids)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "event", "RunContent", "agent_id",
                          ids->agent_id, "agent_name", ids->agent_name, "run_id", ids->run_id,
                          "session_id", ids->session_id, "nested_depth", 0);
    buf_init(&f->out, RUN_FRAME_MAX);
    return join(o, ",", ",\"content\":\"", &f->head, &f->head_len);
}

/* RunContent's own fields after content; model_provider_data when the
 * reply has an id. */
static int build_tail(run_frame_t *f, const char *reply_id)
{
    json_t *o = reply_id != NULL ? json_pack("{s:b, s:s, s:s, s:{s:s}}", "workflow_agent", 0,
                                             "content_type", "str", "reasoning_content", "",
                                             "model_provider_data", "id", reply_id)
                                 : json_pack("{s:b, s:s, s:s}", "workflow_agent", 0, "content_type",
                                             "str", "reasoning_content", "");
    char *id = reply_id != NULL ? strdup(reply_id) : NULL;
    free(f->tail);
    free(f->tail_id);
    f->tail = NULL;
    f->tail_id = id;
    if ((reply_id != NULL && id == NULL) || join(o, "\",", "}", &f->tail, &f->tail_len) != 0) {
        free(f->tail_id);
        f->tail_id = NULL;
        return -1;
    }
    return 0;
}

static int same_id(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The one escape of an ASCII byte, as jansson's dump_string writes it. */
static size_t escape_byte(unsigned c, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *two = c == '"'    ? "\\\""
                      : c == '\\' ? "\\\\"
                      : c == '\b' ? "\\b"
                      : c == '\f' ? "\\f"
                      : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t"
                                  : NULL;
    if (two != NULL) {
        memcpy(out, two, 2);
        return 2;
    }
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): sent by length */
    memcpy(out, "\\u00", 4);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
}

int run_frame_escape(buf_t *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len, *run = p;
    while (p < end) {
        unsigned c = *p;
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p, (size_t)(end - p));
            if (n == 0)
                return -1;
            p += n;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        char esc[6];
        size_t n = escape_byte(c, esc);
        if (buf_append(out, run, (size_t)(p - run)) != BUF_OK || buf_append(out, esc, n) != BUF_OK)
            return -1;
        run = ++p;
    }
    return buf_append(out, run, (size_t)(p - run)) == BUF_OK ? 0 : -1;
}

/* {"created_at":N as json_dumps writes an integer. */
static size_t created_at_text(long long v, char *out)
{
    static const char pre[] = "{\"created_at\":";
    memcpy(out, pre, sizeof(pre) - 1);
    size_t n = sizeof(pre) - 1;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        out[n++] = '-';
    while (nd > 0)
        out[n++] = digits[--nd];
    return n;
}

int run_frame_content(run_frame_t *f, const run_frame_ids_t *ids, long long created_at,
                      const char *reply_id, const char *text, size_t len)
{
    if (f->head == NULL && build_head(f, ids) != 0)
        return -1;
    if ((f->tail == NULL || !same_id(f->tail_id, reply_id)) && build_tail(f, reply_id) != 0)
        return -1;
    char num[48];
    size_t n = created_at_text(created_at, num);
    buf_reset(&f->out);
    if (buf_append(&f->out, num, n) != BUF_OK ||
        buf_append(&f->out, f->head, f->head_len) != BUF_OK ||
        run_frame_escape(&f->out, text, len) != 0 ||
        buf_append(&f->out, f->tail, f->tail_len) != BUF_OK) {
        buf_reset(&f->out);
        return -1;
    }
    return 0;
}

const char *run_frame_data(const run_frame_t *f)
{
    return buf_ptr(&f->out);
}

size_t run_frame_len(const run_frame_t *f)
{
    return buf_len(&f->out);
}

void run_frame_sent(run_frame_t *f)
{
    if (buf_len(&f->out) > RUN_FRAME_KEEP)
        buf_free(&f->out);
}
