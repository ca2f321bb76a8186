/* The store's per-run costs (issue 11): a run's setup is one transaction
 * (one commit, and nothing left behind when it fails). Commits are counted
 * (store->commits), never timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/registry.h"
#include "agent/run_internal.h"
#include "test_store_support.h"

typedef struct setup_case {
    agent_def_t agent;
    run_t run;
    uv_loop_t loop;
    store_rc_t rc;
    int done;
} setup_case_t;

static void on_setup(run_t *run, store_rc_t rc)
{
    setup_case_t *sc = (setup_case_t *)((char *)run - offsetof(setup_case_t, run));
    sc->rc = rc;
    sc->done++;
}

/* One run's setup on a loop of its own, as run_start submits it. */
static store_rc_t setup(char *ws, char *session_id, char *run_id)
{
    setup_case_t *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    sc->agent = (agent_def_t){
        .id = "agent", .provider = "openai", .add_history_to_context = 1, .num_history_runs = 3};
    sc->agent.model.id = "m";
    assert_int_equal(uv_loop_init(&sc->loop), 0);
    sc->run = (run_t){.agent = &sc->agent,
                      .ws = ws,
                      .user = "u",
                      .session_id = session_id,
                      .run_id = run_id,
                      .message = "hello"};
    sc->run.env = (run_env_t){.loop = &sc->loop, .store = F->store, .owner = "test"};
    run_store_setup(&sc->run, on_setup);
    assert_int_equal(uv_run(&sc->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&sc->loop), 0);
    assert_int_equal(sc->done, 1);
    store_rc_t rc = sc->rc;
    json_decref(sc->run.history);
    json_decref(sc->run.session_state);
    free(sc);
    return rc;
}

static uint64_t commits(void)
{
    return atomic_load(&F->store->commits);
}

/* A new session and its first run: one commit, not one per write. */
static void test_setup_one_commit(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    uint64_t before = commits();
    assert_int_equal(setup(ws, "s1", "r1"), STORE_OK);
    assert_int_equal(commits() - before, 1);
    assert_int_equal(store_session_get(F->conn, ws, "s1", NULL), STORE_OK);
    assert_int_equal(store_run_get(F->conn, ws, "r1", NULL), STORE_OK);
    /* A second run of the same session reads its history: still one. */
    before = commits();
    assert_int_equal(setup(ws, "s1", "r2"), STORE_OK);
    assert_int_equal(commits() - before, 1);
}

/* A setup that fails at its last write leaves no new session behind. */
static void test_setup_failure_rolls_back(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    assert_int_equal(setup(ws, "s1", "r1"), STORE_OK);
    uint64_t before = commits();
    assert_int_equal(setup(ws, "s2", "r1"), STORE_CONFLICT); /* the run id is taken */
    assert_int_equal(commits(), before);
    assert_int_equal(store_session_get(F->conn, ws, "s2", NULL), STORE_NOT_FOUND);
}

#define CASE(fn) cmocka_unit_test(fn)

static const struct CMUnitTest cases[] = {
    CASE(test_setup_one_commit),
    CASE(test_setup_failure_rolls_back),
};

int main(void)
{
    return FX_RUN_ALL(cases);
}
