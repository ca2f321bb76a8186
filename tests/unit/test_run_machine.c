/* The run's status table (core/run_status) and its state machine
 * (agent/run.c): names round-trip, unknown names are refused, only the
 * legal phase transitions pass the check run_enter asserts on, and a run
 * driven by hand (no store row, no clock, no network: run_store_finish
 * then ends it at once) ends the same way from every phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/model_provider.h"
#include "agent/run_internal.h"
#include "core/run_status.h"

static void test_status_names_round_trip(void **state)
{
    (void)state;
    static const char *const want[RUN_STATUS_COUNT] = {"PENDING", "RUNNING",   "COMPLETED",
                                                       "PAUSED",  "CANCELLED", "ERROR"};
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        assert_string_equal(run_status_name((run_status_t)i), want[i]);
        run_status_t s = RUN_STATUS_COUNT;
        assert_int_equal(run_status_parse(want[i], &s), 0);
        assert_int_equal(s, i);
    }
    assert_string_equal(run_status_name(RUN_STATUS_COUNT), "");
}

static void test_status_parse_refuses_unknown(void **state)
{
    (void)state;
    run_status_t s = RUN_STATUS_PENDING;
    assert_int_equal(run_status_parse(NULL, &s), -1);
    assert_int_equal(run_status_parse("", &s), -1);
    assert_int_equal(run_status_parse("running", &s), -1); /* exact text, as the column */
    assert_int_equal(run_status_parse("REGENERATED", &s), -1);
    assert_int_equal(run_status_parse("COMPLETEDX", &s), -1);
    assert_int_equal(s, RUN_STATUS_PENDING);
}

static void test_status_open(void **state)
{
    (void)state;
    assert_true(run_status_is_open(RUN_STATUS_PENDING));
    assert_true(run_status_is_open(RUN_STATUS_RUNNING));
    assert_false(run_status_is_open(RUN_STATUS_COMPLETED));
    assert_false(run_status_is_open(RUN_STATUS_PAUSED));
    assert_false(run_status_is_open(RUN_STATUS_CANCELLED));
    assert_false(run_status_is_open(RUN_STATUS_ERROR));
    assert_true(run_status_name_is_open("RUNNING"));
    assert_true(run_status_name_is_open("PENDING"));
    assert_false(run_status_name_is_open("ERROR"));
    assert_false(run_status_name_is_open(NULL));
    assert_false(run_status_name_is_open("bogus"));
}

/* ---- the legal-transition table ---- */

static void test_phase_table(void **state)
{
    (void)state;
    /* want[from][to]: the diagram in run_internal.h and docs/architecture.md */
    static const int want[RUN_PHASE_COUNT][RUN_PHASE_COUNT] = {
        /*              SETUP MODEL TOOLS PAUSED FINISHING DONE */
        [RUN_SETUP] = {0, 1, 0, 0, 1, 0},     [RUN_MODEL] = {0, 0, 1, 1, 1, 0},
        [RUN_TOOLS] = {0, 1, 0, 1, 1, 0},     [RUN_PAUSED] = {0, 1, 1, 0, 1, 0},
        [RUN_FINISHING] = {0, 0, 0, 0, 0, 1}, [RUN_DONE] = {0, 0, 0, 0, 0, 0},
    };
    for (int f = 0; f < RUN_PHASE_COUNT; f++)
        for (int t = 0; t < RUN_PHASE_COUNT; t++) {
            int ok = run_phase_check((run_phase_t)f, (run_phase_t)t) == 0;
            if (ok != want[f][t])
                fail_msg("%s -> %s: %s", run_phase_name((run_phase_t)f),
                         run_phase_name((run_phase_t)t), ok ? "legal" : "illegal");
        }
}

static void test_illegal_transition_caught(void **state)
{
    (void)state;
    assert_int_equal(run_phase_check(RUN_DONE, RUN_MODEL), -1);
    assert_int_equal(run_phase_check(RUN_FINISHING, RUN_MODEL), -1);
    assert_int_equal(run_phase_check(RUN_SETUP, RUN_TOOLS), -1);
    assert_int_equal(run_phase_check(RUN_MODEL, RUN_MODEL), -1);
    assert_int_equal(run_phase_check(RUN_MODEL, RUN_PHASE_COUNT), -1);
    assert_int_equal(run_phase_check(RUN_PHASE_COUNT, RUN_DONE), -1);
    assert_string_equal(run_phase_name(RUN_PHASE_COUNT), "?");
    assert_string_equal(run_phase_name(RUN_FINISHING), "FINISHING");
}

/* ---- a run driven by hand ---- */

typedef struct fake_sink {
    char names[16][32];
    json_t *last; /* the final event */
    int nevents, ended;
    run_status_t end_status;
} fake_sink_t;

static int fake_on_event(void *ud, const char *name, const json_t *event)
{
    fake_sink_t *fs = ud;
    if (fs->nevents < 16)
        snprintf(fs->names[fs->nevents], sizeof(fs->names[0]), "%s", name);
    fs->nevents++;
    json_decref(fs->last);
    fs->last = json_deep_copy(event);
    return 0;
}

static void fake_on_end(void *ud, run_t *run)
{
    fake_sink_t *fs = ud;
    fs->ended++;
    fs->end_status = run_status(run);
    assert_int_equal(run->phase, RUN_DONE);
    /* released at FINISHING, before the row waits on the store */
    assert_null(run->messages);
    assert_null(run->tool_schemas);
    assert_null(run->history);
    assert_int_equal(run->streamed.cap, 0);
    assert_int_equal(run->frame.out.cap, 0);
    assert_null(run->frame.head);
}

static agent_def_t test_agent;

static run_t *hand_run(fake_sink_t *fs, run_phase_t phase)
{
    memset(fs, 0, sizeof(*fs));
    test_agent.id = "a1";
    test_agent.name = "Agent";
    test_agent.provider = "openai";
    test_agent.model.id = "gpt-test";
    test_agent.tool_call_limit = 10;
    test_agent.max_model_turns = 16;
    run_t *run = calloc(1, sizeof(*run));
    assert_non_null(run);
    run->agent = &test_agent;
    run->ws = strdup("ws");
    run->user = strdup("u");
    run->session_id = strdup("s");
    run->run_id = strdup("r");
    run->message = strdup("hi");
    run->messages = json_array();
    run->tool_schemas = json_array();
    run->history = json_array();
    buf_init(&run->streamed, 1 << 20);
    assert_int_equal(buf_append(&run->streamed, "so far", 6), BUF_OK);
    buf_init(&run->frame.out, 1 << 20);
    assert_int_equal(buf_append(&run->frame.out, "{}", 2), BUF_OK);
    run->run_messages = json_array();
    run->tools_log = json_array();
    run->status = RUN_STATUS_RUNNING;
    run->phase = phase;
    run->sink = (run_sink_t){.on_event = fake_on_event, .on_end = fake_on_end, .ud = fs};
    return run;
}

static const char *final_name(const fake_sink_t *fs)
{
    return fs->nevents > 0 ? fs->names[(fs->nevents > 16 ? 16 : fs->nevents) - 1] : "";
}

static const char *last_str(const fake_sink_t *fs, const char *key)
{
    return json_string_value(json_object_get(fs->last, key));
}

static void test_cancel_in_every_phase(void **state)
{
    (void)state;
    static const run_phase_t phases[] = {RUN_MODEL, RUN_TOOLS, RUN_PAUSED};
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        fake_sink_t fs;
        run_t *run = hand_run(&fs, phases[i]);
        run_cancel(run, "stop it");
        assert_int_equal(fs.ended, 1); /* the run is freed */
        assert_int_equal(fs.end_status, RUN_STATUS_CANCELLED);
        assert_string_equal(final_name(&fs), "RunCancelled");
        assert_string_equal(last_str(&fs, "reason"), "stop it");
        json_decref(fs.last);
    }
}

/* SETUP: the setup job cannot be called back, so the cancel waits for it;
 * FINISHING: the run is ending already, a cancel changes nothing. */
static void test_cancel_in_setup_and_finishing(void **state)
{
    (void)state;
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_SETUP);
    run_cancel(run, "early");
    assert_int_equal(fs.nevents, 0);
    assert_true(run->cancel_pending);
    run_finish(run, RUN_STATUS_CANCELLED, NULL); /* what the setup job's end does */
    assert_int_equal(fs.ended, 1);
    assert_string_equal(last_str(&fs, "reason"), "early");
    json_decref(fs.last);

    run = hand_run(&fs, RUN_MODEL);
    run->row_written = 1; /* keeps the run in FINISHING: the row is being written */
    run->phase = RUN_FINISHING;
    run_cancel(run, "late");
    run_fail(run, "timeout", "late too");
    run_finish(run, RUN_STATUS_ERROR, "again");
    assert_int_equal(fs.nevents, 0);
    assert_int_equal(fs.ended, 0);
    run->row_written = 0;
    run->phase = RUN_MODEL;
    run_finish(run, RUN_STATUS_COMPLETED, NULL);
    assert_int_equal(fs.ended, 1);
    assert_string_equal(final_name(&fs), "RunCompleted");
    json_decref(fs.last);
}

static void test_model_error_in_every_phase(void **state)
{
    (void)state;
    static const run_phase_t phases[] = {RUN_MODEL, RUN_TOOLS, RUN_PAUSED};
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        fake_sink_t fs;
        run_t *run = hand_run(&fs, phases[i]);
        run_fail(run, "model_provider_error", "HTTP 500");
        assert_int_equal(fs.ended, 1);
        assert_int_equal(fs.end_status, RUN_STATUS_ERROR);
        assert_string_equal(final_name(&fs), "RunError");
        assert_string_equal(last_str(&fs, "error_type"), "model_provider_error");
        assert_string_equal(last_str(&fs, "content"), "HTTP 500");
        json_decref(fs.last);
    }
    /* SETUP: kept for the setup job's end, which fails the run with it. */
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_SETUP);
    run_fail(run, "timeout", "too slow");
    assert_int_equal(fs.nevents, 0);
    assert_string_equal(run->fail_text, "too slow");
    run_finish(run, RUN_STATUS_ERROR, run->fail_text);
    assert_int_equal(fs.ended, 1);
    assert_string_equal(last_str(&fs, "error_type"), "timeout");
    json_decref(fs.last);
}

static model_result_t one_tool_call(void)
{
    static model_tool_call_t call = {.id = "c1", .name = "no_such_tool", .arguments = "{}"};
    return (model_result_t){.content = "", .tool_calls = &call, .ntool_calls = 1};
}

static void test_tool_limit_path(void **state)
{
    (void)state;
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_MODEL);
    test_agent.tool_call_limit = 2;
    run->tool_calls_used = 2;
    model_result_t res = one_tool_call();
    run_model_done(run, &res);
    assert_int_equal(fs.ended, 1);
    assert_string_equal(final_name(&fs), "RunError");
    assert_string_equal(last_str(&fs, "error_type"), "tool_call_limit_exceeded");
    json_decref(fs.last);
}

/* MODEL -> TOOLS (an unknown tool answers at once) -> MODEL, where the
 * turn limit ends it: the whole loop without a network. */
static void test_tools_then_model_turn_limit(void **state)
{
    (void)state;
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_MODEL);
    test_agent.max_model_turns = 1;
    run->model_turns = 1;
    model_result_t res = one_tool_call();
    run_model_done(run, &res);
    assert_int_equal(fs.ended, 1);
    assert_string_equal(fs.names[0], "ToolCallStarted");
    assert_string_equal(fs.names[1], "ToolCallCompleted");
    assert_string_equal(final_name(&fs), "RunError");
    assert_string_equal(last_str(&fs, "error_type"), "max_model_turns_exceeded");
    json_decref(fs.last);
}

static void test_model_answer_completes(void **state)
{
    (void)state;
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_MODEL);
    model_result_t res = {.content = "hello"};
    run_model_done(run, &res);
    assert_int_equal(fs.ended, 1);
    assert_int_equal(fs.end_status, RUN_STATUS_COMPLETED);
    assert_string_equal(fs.names[0], "RunContentCompleted");
    assert_string_equal(final_name(&fs), "RunCompleted");
    assert_string_equal(last_str(&fs, "content"), "hello");
    json_decref(fs.last);
}

/* A turn's text is held once while it streams (in the model stream, not
 * also in run->streamed), and a cancel mid-turn still says all of it. */
static void test_turn_text_held_once(void **state)
{
    (void)state;
    fake_sink_t fs;
    run_t *run = hand_run(&fs, RUN_MODEL);
    buf_free(&run->streamed); /* no earlier turn yet */
    model_events_t ev = {run_model_text, run};
    run->stream = model_stream_new(&model_provider_openai, &ev, 4096);
    assert_non_null(run->stream);
    static const char sse[] = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":"
                              "{\"content\":\"Hello \"}}]}\n\n"
                              "data: {\"choices\":[{\"index\":0,\"delta\":"
                              "{\"content\":\"there\"}}]}\n\n";
    assert_int_equal(model_stream_feed(run->stream, sse, sizeof(sse) - 1), 0);
    assert_string_equal(fs.names[0], "RunContent");
    assert_int_equal(run->streamed.cap, 0); /* the old code copied every delta */
    /* as if an earlier turn had said this */
    assert_int_equal(buf_append(&run->streamed, "Before. ", 8), BUF_OK);
    run_cancel(run, "stop");
    assert_int_equal(fs.ended, 1);
    assert_string_equal(final_name(&fs), "RunCancelled");
    assert_string_equal(last_str(&fs, "content"), "Before. Hello there");
    json_decref(fs.last);
}

/* curl's receive buffer, allocated for each run in flight: 2 KiB under
 * the default 1 MiB SSE cap (16 KiB before), an eighth of a small cap, and
 * never under curl's minimum. */
static void test_model_buffer_small(void **state)
{
    (void)state;
    assert_int_equal(run_model_buffer_size((size_t)1 << 20), 2048);
    assert_int_equal(run_model_buffer_size((size_t)1 << 30), 2048);
    assert_int_equal(run_model_buffer_size(12 * 1024), 1536);
    assert_int_equal(run_model_buffer_size(1024), 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_buffer_small),
        cmocka_unit_test(test_status_names_round_trip),
        cmocka_unit_test(test_status_parse_refuses_unknown),
        cmocka_unit_test(test_status_open),
        cmocka_unit_test(test_phase_table),
        cmocka_unit_test(test_illegal_transition_caught),
        cmocka_unit_test(test_cancel_in_every_phase),
        cmocka_unit_test(test_cancel_in_setup_and_finishing),
        cmocka_unit_test(test_model_error_in_every_phase),
        cmocka_unit_test(test_tool_limit_path),
        cmocka_unit_test(test_tools_then_model_turn_limit),
        cmocka_unit_test(test_model_answer_completes),
        cmocka_unit_test(test_turn_text_held_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
