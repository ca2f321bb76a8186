/* What start does not make (issue 11, idle footprint): a loop's state
 * holds no HTTP client until its first model or tool call asks for one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "api/app.h"

#define SECRET "0123456789abcdef0123456789abcdef-lazy"

typedef struct fixture {
    config_t cfg;
    app_t app;
    uv_loop_t loop;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    setenv("BETTER_AUTH_SECRET", SECRET, 1);
    config_source_t *src = config_source_new();
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load(&f->cfg, src, err, sizeof err), 0);
    config_source_free(src);
    assert_int_equal(app_init(&f->app, &f->cfg, err, sizeof err), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    uv_run(&f->loop, UV_RUN_DEFAULT); /* the close callbacks */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    app_free(&f->app);
    config_free(&f->cfg);
    free(f);
    return 0;
}

static void test_loop_starts_without_http_client(void **state)
{
    fixture_t *f = *state;
    app_loop_t *l = app_loop_init(0, &f->loop, &f->app);
    assert_non_null(l);
    assert_null(l->http); /* nothing of curl's at start */
    http_client_t *c = app_loop_http(l);
    assert_non_null(c);
    assert_ptr_equal(app_loop_http(l), c); /* one per loop, made once */
    app_loop_free(l);
}

static void test_loop_never_asked_frees_cleanly(void **state)
{
    fixture_t *f = *state;
    app_loop_t *l = app_loop_init(1, &f->loop, &f->app);
    assert_non_null(l);
    app_loop_free(l); /* no client to free: nothing leaks, nothing crashes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loop_starts_without_http_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_never_asked_frees_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
