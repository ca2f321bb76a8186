/* The providers' fast path (agent/model_scan.c): plain text deltas are read
 * without jansson, with the very values jansson's tree would hold, and
 * everything else (tool calls, usage, finish, errors, unknown nesting,
 * duplicate or escaped keys, anything malformed) is left to jansson. Each
 * shape in the tables is checked against json_loadb's reading; a mutation
 * run checks that no damaged event is ever accepted where jansson would
 * refuse it or read it otherwise; and a stream of plain deltas is decoded
 * with no jansson allocation at all (which the old path, one json_loadb
 * per event, fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/model.h"
#include "agent/model_scan.h"

typedef struct row {
    const char *data;
    int mine;   /* the fast path takes it */
    size_t len; /* 0: strlen (rows with a NUL byte give it) */
} row_t;

static size_t row_len(const row_t *r)
{
    return r->len ? r->len : strlen(r->data);
}

static void assert_same_str(const json_t *v, const char *s, size_t n, const char *what)
{
    if (!json_is_string(v) || json_string_length(v) != n || memcmp(json_string_value(v), s, n) != 0)
        fail_msg("%s differs from jansson's", what);
}

/* What the jansson path would have done with data is exactly what the
 * scan says: the id, the text, and nothing else. */
static void openai_agrees(const char *data, size_t len, const model_scan_t *sc)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    if (!json_is_object(root))
        fail_msg("accepted what jansson refuses: %.*s", (int)len, data);
    const json_t *err = json_object_get(root, "error");
    assert_true(err == NULL || json_is_null(err));
    assert_false(json_is_object(json_object_get(root, "usage")));
    const json_t *id = json_object_get(root, "id");
    if (sc->id != NULL)
        assert_same_str(id, sc->id, sc->id_len, "id");
    else
        assert_false(json_is_string(id));
    const json_t *choices = json_object_get(root, "choices");
    assert_true(json_array_size(choices) <= 1);
    const json_t *choice = json_array_get(choices, 0);
    const json_t *ix = json_object_get(choice, "index");
    assert_true(ix == NULL || (json_is_integer(ix) && json_integer_value(ix) == 0));
    assert_false(json_is_string(json_object_get(choice, "finish_reason")));
    const json_t *delta = json_object_get(choice, "delta");
    const json_t *content = json_object_get(delta, "content");
    if (sc->text != NULL)
        assert_same_str(content, sc->text, sc->text_len, "content");
    else
        assert_false(json_is_string(content));
    assert_false(json_is_string(json_object_get(delta, "reasoning_content")));
    assert_false(json_is_string(json_object_get(delta, "reasoning")));
    assert_int_equal(json_array_size(json_object_get(delta, "tool_calls")), 0);
    json_decref(root);
}

static void anthropic_agrees(const char *data, size_t len, const model_scan_t *sc)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    if (!json_is_object(root))
        fail_msg("accepted what jansson refuses: %.*s", (int)len, data);
    assert_string_equal(json_string_value(json_object_get(root, "type")), "content_block_delta");
    const json_t *delta = json_object_get(root, "delta");
    assert_string_equal(json_string_value(json_object_get(delta, "type")), "text_delta");
    const json_t *text = json_object_get(delta, "text");
    if (sc->text != NULL)
        assert_same_str(text, sc->text, sc->text_len, "text");
    else
        assert_false(json_is_string(text));
    assert_null(sc->id);
    json_decref(root);
}

typedef int (*scan_fn)(const char *, size_t, buf_t *, model_scan_t *);
typedef void (*agree_fn)(const char *, size_t, const model_scan_t *);

static int check_one(scan_fn scan, agree_fn agree, const char *data, size_t len)
{
    buf_t scratch;
    buf_init(&scratch, 1 << 16);
    model_scan_t sc;
    int mine = scan(data, len, &scratch, &sc);
    if (mine)
        agree(data, len, &sc);
    buf_free(&scratch);
    return mine;
}

static void check_rows(scan_fn scan, agree_fn agree, const row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int mine = check_one(scan, agree, rows[i].data, row_len(&rows[i]));
        if (mine != rows[i].mine)
            fail_msg("row %zu (%s): %s", i, rows[i].data, mine ? "taken" : "left to jansson");
    }
}

/* A row whose literal holds a NUL byte: its length from sizeof. */
#define NUL_ROW(lit)                                                                               \
    {                                                                                              \
        lit, 0, sizeof(lit) - 1                                                                    \
    }
#define CHUNK_HEAD                                                                                 \
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
#define CHOICE(delta) "\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":null}]}"

static const row_t openai_rows[] = {
    /* the plain shapes, as OpenAI, vLLM, Ollama and our mock send them */
    {CHUNK_HEAD "\"model\":\"m\"," CHOICE("{\"content\":\"Hello\"}"), 1, 0},
    {CHUNK_HEAD "\"model\":\"m\"," CHOICE("{\"role\":\"assistant\",\"content\":\"\"}"), 1, 0},
    {CHUNK_HEAD "\"model\":\"m\",\"system_fingerprint\":null," CHOICE("{\"content\":\" world\"}"),
     1, 0},
    {CHUNK_HEAD CHOICE("{\"role\":\"assistant\",\"content\":null,\"refusal\":null}"), 1, 0},
    {CHUNK_HEAD CHOICE("{}"), 1, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"x\"},\"logprobs\":null,\"index\":0}],"
     "\"usage\":null,\"obfuscation\":\"ab\"}",
     1, 0},
    {" \r\n\t{ \"choices\" : [ { \"delta\" : { \"content\" : \"sp\" } } ] } \n", 1, 0},
    {"{}", 1, 0},
    {"{\"choices\":[]}", 1, 0},
    /* escapes and UTF-8 in the text */
    {CHUNK_HEAD CHOICE("{\"content\":\"q\\\"b\\\\s\\/n\\nr\\rt\\tb\\bf\\f\"}"), 1, 0},
    {CHUNK_HEAD CHOICE(
         "{\"content\":\"\\u00e9\\u20AC\\ud83d\\ude00 caf\xc3\xa9 \xf0\x9f\x98\x80\"}"),
     1, 0},
    {CHUNK_HEAD CHOICE("{\"content\":\"\\u0001\\u001f\x7f\"}"), 1, 0},
    /* the jansson path's work: tool calls, finish, usage, errors, reasoning */
    {CHUNK_HEAD CHOICE("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\","
                       "\"arguments\":\"\"}}]}"),
     0, 0},
    {CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}", 0, 0},
    {CHUNK_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}", 0, 0},
    {"{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}", 0, 0},
    {"{\"error\":false,\"choices\":[]}", 0, 0},
    {CHUNK_HEAD CHOICE("{\"reasoning_content\":\"think\"}"), 0, 0},
    {CHUNK_HEAD CHOICE("{\"reasoning\":\"think\"}"), 0, 0},
    {"{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"second\"}}]}", 0, 0},
    {"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}},{\"index\":1,\"delta\":{}}]}", 0,
     0},
    {"{\"choices\":[{\"index\":\"0\",\"delta\":{\"content\":\"a\"}}]}", 0, 0},
    {"{\"choices\":[{\"index\":0.0,\"delta\":{\"content\":\"a\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"},\"logprobs\":{\"content\":[]}}]}", 0, 0},
    {"{\"choices\":null}", 0, 0},
    {"{\"id\":7,\"choices\":[]}", 0, 0},
    /* duplicate keys (jansson keeps the last) and escaped keys */
    {"{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":null,\"content\":\"b\"}}]}", 0, 0},
    {"{\"id\":\"a\",\"id\":\"b\",\"choices\":[]}", 0, 0},
    {"{\"choices\":[],\"choices\":[{\"delta\":{\"content\":\"b\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"},\"delta\":{\"content\":\"b\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"con\\u0074ent\":\"a\"}}]}", 0, 0},
    {"{\"id\":\"chat\\u0063mpl\",\"choices\":[]}", 0, 0},
    /* malformed or hostile: jansson refuses each, or reads it otherwise */
    {CHUNK_HEAD CHOICE("{\"content\":\"Hel"), 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"}}]", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"}}]} x", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\"}}],}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\ud83d\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\ude00\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\ud83d\\u0041\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\x\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"a\\u12g4\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"tab\there\"}}]}", 0, 0},
    NUL_ROW("{\"choices\":[{\"delta\":{\"content\":\"a\0b\"}}]}"),
    NUL_ROW("{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\0"),
    {"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"\xc0\xaf\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"\xed\xa0\x80\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"\xf4\x90\x80\x80\"}}]}", 0, 0},
    {"{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}", 0, 0},
    {"{\"created\":99999999999999999999,\"choices\":[]}", 0, 0},
    {"{\"created\":1e999,\"choices\":[]}", 0, 0},
    {"{\"created\":01,\"choices\":[]}", 0, 0},
    {"{\"created\":-,\"choices\":[]}", 0, 0},
    {"{\"x\":nul,\"choices\":[]}", 0, 0},
    {"{\"x\":nullx,\"choices\":[]}", 0, 0},
    {"[{\"choices\":[]}]", 0, 0},
    {"\"text\"", 0, 0},
    {"", 0, 0},
    {"{'choices':[]}", 0, 0},
};

static const row_t anthropic_rows[] = {
    {"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
     "\"text\":\"Hi\"}}",
     1, 0},
    {"{\"delta\":{\"text\":\"caf\\u00e9 \\\"q\\\"\\n\",\"type\":\"text_delta\"},"
     "\"type\":\"content_block_delta\",\"index\":3}",
     1, 0},
    {"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\"}}", 1, 0},
    {"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
     "\"partial_json\":\"{\"}}",
     0, 0},
    {"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
     "\"thinking\":\"hm\"}}",
     0, 0},
    {"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
     "\"text\":\"\"}}",
     0, 0},
    {"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}", 0, 0},
    {"{\"type\":\"ping\"}", 0, 0},
    {"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}", 0, 0},
    {"{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"no type\"}}", 0, 0},
    {"{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"no delta type\"}}", 0, 0},
    {"{\"type\":\"content_block_delta\",\"type\":\"message_stop\",\"delta\":{\"type\":"
     "\"text_delta\",\"text\":\"a\"}}",
     0, 0},
    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\","
     "\"text\":\"b\"}}",
     0, 0},
    {"{\"type\":\"content_block_\\u0064elta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}",
     0, 0},
    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":7}}", 0, 0},
    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"\\u0000\"}}",
     0, 0},
    {"{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}", 0, 0},
};

static void test_openai_shapes(void **state)
{
    (void)state;
    check_rows(model_scan_openai, openai_agrees, openai_rows,
               sizeof(openai_rows) / sizeof(openai_rows[0]));
}

static void test_anthropic_shapes(void **state)
{
    (void)state;
    check_rows(model_scan_anthropic, anthropic_agrees, anthropic_rows,
               sizeof(anthropic_rows) / sizeof(anthropic_rows[0]));
}

/* The escaped text lands in the scratch buffer, bounded by its limit:
 * past it the event is jansson's (which then has the same bound on the
 * event as a whole). */
static void test_unescape_bounded(void **state)
{
    (void)state;
    const char *ev = "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\\u00e9\\u00e9\"}}]}";
    buf_t scratch;
    buf_init(&scratch, 5);
    model_scan_t sc;
    assert_int_equal(model_scan_openai(ev, strlen(ev), &scratch, &sc), 0);
    buf_free(&scratch);
    buf_init(&scratch, 6);
    assert_int_equal(model_scan_openai(ev, strlen(ev), &scratch, &sc), 1);
    assert_int_equal(sc.text_len, 6);
    assert_memory_equal(sc.text, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
    buf_free(&scratch);
}

/* ---- mutations: the scan never takes what jansson reads otherwise ---- */

static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void mutate(char *buf, size_t *len, size_t cap)
{
    static const char bytes[] = "\"\\u{}[],:0 9dD8eE.-nt\x01\x1f\x7f\x80\xc3\xed\xf4\xff";
    size_t at = *len ? next_rand() % *len : 0;
    char b = bytes[next_rand() % (sizeof(bytes) - 1)];
    switch (next_rand() % 4) {
    case 0: /* replace */
        if (*len)
            buf[at] = b;
        break;
    case 1: /* insert */
        if (*len + 1 < cap) {
            memmove(buf + at + 1, buf + at, *len - at);
            buf[at] = b;
            (*len)++;
        }
        break;
    case 2: /* delete */
        if (*len) {
            memmove(buf + at, buf + at + 1, *len - at - 1);
            (*len)--;
        }
        break;
    default: /* truncate */
        *len = at;
    }
}

static void mutate_from(scan_fn scan, agree_fn agree, const char *seed, int rounds)
{
    char buf[512];
    for (int i = 0; i < rounds; i++) {
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)(next_rand() % 3);
        for (int e = 0; e < edits; e++)
            mutate(buf, &len, sizeof(buf));
        check_one(scan, agree, buf, len);
    }
}

static void test_mutations(void **state)
{
    (void)state;
    mutate_from(model_scan_openai, openai_agrees,
                "{\"id\":\"c-1\",\"created\":17,\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                "\"assistant\",\"content\":\"a\\\"\\u00e9\\ud83d\\ude00\xc3\xa9\"},"
                "\"finish_reason\":null}],\"usage\":null}",
                20000);
    mutate_from(model_scan_anthropic, anthropic_agrees,
                "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
                "\"text\":\"a\\\"\\u00e9\\ud83d\\ude00\xc3\xa9\"}}",
                20000);
}

/* ---- through the stream: no jansson tree for plain deltas ---- */

static size_t jansson_allocs;

static void *count_malloc(size_t n)
{
    jansson_allocs++;
    return malloc(n);
}

typedef struct gathered {
    char text[4096];
    size_t len;
    int calls;
} gathered_t;

static void gather(void *ud, const char *text, size_t len)
{
    gathered_t *g = ud;
    assert_true(g->len + len < sizeof(g->text));
    memcpy(g->text + g->len, text, len);
    g->len += len;
    g->calls++;
}

static void stream_plain(const model_provider_t *p, const char *head, const char *tail,
                         const char *want_id)
{
    gathered_t g = {0};
    model_events_t ev = {.on_text = gather, .ud = &g};
    model_stream_t *st = model_stream_new(p, &ev, 1 << 16);
    json_set_alloc_funcs(count_malloc, free);
    jansson_allocs = 0;
    for (int i = 0; i < 200; i++) {
        char event[256];
        int n = snprintf(event, sizeof(event), "%s%s%s", head,
                         i % 2 ? "\\\"tok\\u00e9\\\" " : "tok ", tail);
        assert_int_equal(model_stream_feed(st, event, (size_t)n), 0);
    }
    size_t allocs = jansson_allocs;
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(allocs, 0); /* the old path: a json_loadb tree per event */
    assert_int_equal(g.calls, 200);
    assert_int_equal(g.len, 100 * strlen("tok ") + 100 * strlen("\"tok\xc3\xa9\" "));
    assert_memory_equal(g.text, "tok \"tok\xc3\xa9\" ", 12);
    if (want_id != NULL)
        assert_string_equal(model_stream_response_id(st), want_id);
    model_stream_free(st);
}

static void test_stream_plain_deltas_skip_jansson(void **state)
{
    (void)state;
    stream_plain(&model_provider_openai,
                 "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                 "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                 "\"},\"finish_reason\":null}]}\n\n", "chatcmpl-9");
    stream_plain(&model_provider_anthropic,
                 "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                 "\"delta\":{\"type\":\"text_delta\",\"text\":\"",
                 "\"}}\n\n", NULL);
}

/* A whole reply, fast and slow events mixed: the result is the one the
 * jansson path assembles (the finish, the usage and the tool call are
 * jansson's, the text deltas the scan's). */
static void test_stream_mixed_reply(void **state)
{
    (void)state;
    const char *body =
        "data: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        "\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi "
        "\\u2603\"}}]}\n\n"
        "data: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n"
        "data: {\"id\":\"r1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
        "\"tool_calls\"}]}\n\n"
        "data: {\"id\":\"r1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":7}}\n\n"
        "data: [DONE]\n\n";
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 1 << 16);
    assert_int_equal(model_stream_feed(st, body, strlen(body)), 0);
    model_result_t res;
    assert_int_equal(model_stream_finish(st, &res), 0);
    assert_string_equal(res.content, "Hi \xe2\x98\x83");
    assert_int_equal(res.ntool_calls, 1);
    assert_string_equal(res.tool_calls[0].name, "f");
    assert_string_equal(res.stop_reason, "tool_calls");
    assert_int_equal(res.input_tokens, 5);
    assert_int_equal(res.output_tokens, 7);
    assert_string_equal(model_stream_response_id(st), "r1");
    model_result_free(&res);
    model_stream_free(st);
}

/* A plain delta refused by both paths fails the stream, as before. */
static void test_stream_malformed_delta_fails(void **state)
{
    (void)state;
    const char *body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\\ud800\"}}]}\n\n";
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 1 << 16);
    assert_int_equal(model_stream_feed(st, body, strlen(body)), -1);
    assert_non_null(strstr(model_stream_error(st), "malformed"));
    model_stream_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_shapes),
        cmocka_unit_test(test_anthropic_shapes),
        cmocka_unit_test(test_unescape_bounded),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_stream_plain_deltas_skip_jansson),
        cmocka_unit_test(test_stream_mixed_reply),
        cmocka_unit_test(test_stream_malformed_delta_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
