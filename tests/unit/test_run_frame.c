/* RunContent frames from the run's pre-serialised fields
 * (agent/run_frame.c): for tricky deltas, agent names and reply ids, the
 * frame's bytes are those json_dumps gives for the event the jansson path
 * builds (the same run driven through a sink without on_frame), so they
 * parse to the same object; text jansson refuses is refused; and a frame
 * costs no jansson allocation once the run's fields are built (the old
 * path: a tree and a dump per delta). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/model_internal.h"
#include "agent/run_internal.h"

#define MAX_FRAMES 8

typedef struct sink {
    char *frames[MAX_FRAMES]; /* RunContent's data, as the SSE stream would carry it */
    int n, trees;
} sink_t;

static void keep(sink_t *s, char *data)
{
    assert_true(s->n < MAX_FRAMES);
    s->frames[s->n++] = data;
}

static int on_event(void *ud, const char *name, const json_t *event)
{
    sink_t *s = ud;
    assert_string_equal(name, "RunContent");
    s->trees++;
    /* what api/runs.c's on_event sends */
    keep(s, json_dumps(event, JSON_COMPACT | JSON_REAL_PRECISION(15)));
    return 0;
}

static int on_frame(void *ud, const char *name, const char *json, size_t len)
{
    sink_t *s = ud;
    assert_string_equal(name, "RunContent");
    assert_int_equal(strlen(json), len);
    keep(s, strdup(json));
    return 0;
}

static void sink_free(sink_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->frames[i]);
    memset(s, 0, sizeof(*s));
}

static agent_def_t agent;
static char run_id[] = "6b0f1f5e-0d3c-4c55-9d2e-6f3a3c1b2a10";
static char session_id[] = "sess \"one\"";

static run_t *new_run(sink_t *s, int frames, const char *name, const char *reply_id)
{
    memset(&agent, 0, sizeof(agent));
    agent.id = "agent-1";
    static char agent_name[128];
    snprintf(agent_name, sizeof(agent_name), "%s", name);
    agent.name = agent_name;
    agent.provider = "openai";
    run_t *run = calloc(1, sizeof(*run));
    assert_non_null(run);
    run->agent = &agent;
    run->run_id = run_id;
    run->session_id = session_id;
    buf_init(&run->streamed, RUN_STREAMED_MAX);
    run->stream = model_stream_new(&model_provider_openai, NULL, 0);
    if (reply_id != NULL)
        model_stream_set_response_id(run->stream, reply_id);
    run->sink = (run_sink_t){.on_event = on_event, .on_frame = frames ? on_frame : NULL, .ud = s};
    return run;
}

static void free_run(run_t *run)
{
    model_stream_free(run->stream);
    buf_free(&run->streamed);
    run_frame_free(&run->frame);
    free(run);
}

/* Everything after created_at, which each path reads from the clock. */
static const char *after_created_at(const char *frame)
{
    assert_memory_equal(frame, "{\"created_at\":", 14);
    const char *comma = strchr(frame, ',');
    assert_non_null(comma);
    return comma;
}

/* The delta through both paths: the same bytes, the same object. */
static void same_frames(const char *name, const char *reply_id, const char *text, size_t len)
{
    sink_t tree = {0}, fast = {0};
    run_t *a = new_run(&tree, 0, name, reply_id), *b = new_run(&fast, 1, name, reply_id);
    run_model_text(a, text, len);
    run_model_text(b, text, len);
    assert_int_equal(tree.n, 1);
    assert_int_equal(fast.n, 1);
    assert_int_equal(fast.trees, 0);
    assert_string_equal(after_created_at(fast.frames[0]), after_created_at(tree.frames[0]));
    json_t *x = json_loads(tree.frames[0], JSON_ALLOW_NUL, NULL);
    json_t *y = json_loads(fast.frames[0], JSON_ALLOW_NUL, NULL);
    assert_non_null(x);
    assert_non_null(y);
    json_object_del(x, "created_at");
    json_t *at = json_object_get(y, "created_at");
    assert_true(json_is_integer(at) && json_integer_value(at) > 1700000000);
    json_object_del(y, "created_at");
    assert_true(json_equal(x, y));
    /* a turn's text is held once, by its model stream, while it streams
     * (run_model.c end_turn_text): neither path copies it per delta */
    assert_int_equal(a->streamed.cap, 0);
    assert_int_equal(b->streamed.cap, 0);
    json_decref(x);
    json_decref(y);
    free_run(a);
    free_run(b);
    sink_free(&tree);
    sink_free(&fast);
}

static void test_tricky_deltas(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "Hello",
        " ",
        "say \"hi\"",
        "back\\slash \\\\ \\\"",
        "a/b</script>",
        "\b\f\n\r\t",
        "\x01\x02\x1e\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xe2\x80\xa8 \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
        "\xef\xbb\xbf BOM, \xf4\x8f\xbf\xbf last code point",
        "{\"json\": [1, 2]}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        same_frames("Agent", NULL, texts[i], strlen(texts[i]));
        same_frames("Agent \"\xc3\xa9\" \\ \n", "chatcmpl-\"q\"\\x", texts[i], strlen(texts[i]));
    }
    char all[128]; /* every ASCII byte but NUL */
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    same_frames("Agent", "msg_1", all, 127);
    same_frames("Agent", "msg_1", "nul \0 inside", 12);
}

/* A delta longer than content_chunk goes out in pieces cut on a
 * character, through both paths alike. */
static void test_long_delta_in_pieces(void **state)
{
    (void)state;
    sink_t tree = {0}, fast = {0};
    run_t *a = new_run(&tree, 0, "A", "r"), *b = new_run(&fast, 1, "A", "r");
    a->env.content_chunk = b->env.content_chunk = 5;
    const char *text = "ab\xc3\xa9\xc3\xa9\xc3\xa9xyz";
    run_model_text(a, text, strlen(text));
    run_model_text(b, text, strlen(text));
    assert_int_equal(tree.n, 3);
    assert_int_equal(fast.n, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(after_created_at(fast.frames[i]), after_created_at(tree.frames[i]));
    free_run(a);
    free_run(b);
    sink_free(&tree);
    sink_free(&fast);
}

/* Not valid UTF-8: neither path sends it (json_stringn refuses it). */
static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xc3", "a\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sink_t tree = {0}, fast = {0};
        run_t *a = new_run(&tree, 0, "A", NULL), *b = new_run(&fast, 1, "A", NULL);
        run_model_text(a, bad[i], strlen(bad[i]));
        run_model_text(b, bad[i], strlen(bad[i]));
        assert_int_equal(tree.n, 0);
        assert_int_equal(fast.n, 0);
        free_run(a);
        free_run(b);
    }
}

/* The reply id changes with each model turn: the tail follows it. */
static void test_reply_id_follows_the_turn(void **state)
{
    (void)state;
    sink_t fast = {0};
    run_t *b = new_run(&fast, 1, "A", NULL);
    run_model_text(b, "x", 1);
    model_stream_set_response_id(b->stream, "turn-1");
    run_model_text(b, "y", 1);
    model_stream_free(b->stream);
    b->stream = model_stream_new(&model_provider_openai, NULL, 0);
    model_stream_set_response_id(b->stream, "turn-2");
    run_model_text(b, "z", 1);
    assert_int_equal(fast.n, 3);
    assert_null(strstr(fast.frames[0], "model_provider_data"));
    assert_non_null(strstr(fast.frames[1], ",\"model_provider_data\":{\"id\":\"turn-1\"}}"));
    assert_non_null(strstr(fast.frames[2], ",\"model_provider_data\":{\"id\":\"turn-2\"}}"));
    free_run(b);
    sink_free(&fast);
}

static size_t jansson_allocs;

static void *count_malloc(size_t n)
{
    jansson_allocs++;
    return malloc(n);
}

/* After the first frame (which serialises the run's fields once), a
 * delta costs no jansson allocation, and a large frame's buffer is let go. */
static void test_no_tree_per_delta(void **state)
{
    (void)state;
    sink_t fast = {0};
    run_t *b = new_run(&fast, 1, "A", "chatcmpl-1");
    run_model_text(b, "first", 5);
    json_set_alloc_funcs(count_malloc, free);
    jansson_allocs = 0;
    for (int i = 0; i < 200; i++) {
        run_model_text(b, "tok \"\xc3\xa9\"\n", 10);
        free(fast.frames[1]);
        fast.n = 1;
    }
    size_t allocs = jansson_allocs;
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(allocs, 0);
    assert_int_equal(fast.trees, 0);
    char big[6000];
    memset(big, '"', sizeof(big));
    run_model_text(b, big, sizeof(big));
    assert_int_equal(run_frame_len(&b->frame), 0); /* 12 KiB escaped: not kept */
    free_run(b);
    sink_free(&fast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tricky_deltas),
        cmocka_unit_test(test_long_delta_in_pieces),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_reply_id_follows_the_turn),
        cmocka_unit_test(test_no_tree_per_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
