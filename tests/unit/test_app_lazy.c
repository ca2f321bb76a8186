/* What start does not make (issue 11, idle footprint): a loop's state
 * holds no HTTP client until its first model or tool call asks for one,
 * and libcurl, libpq and rhonabwy are not even mapped until first called
 * (core/lazy_lib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/app.h"
#include "core/lazy_lib.h"

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

/* 1 when a file whose name starts with prefix is mapped in this process. */
static int mapped(const char *prefix)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        const char *slash = strrchr(line, '/');
        found = slash != NULL && strncmp(slash + 1, prefix, strlen(prefix)) == 0;
    }
    fclose(f);
    return found;
}

static void test_loop_starts_without_http_client(void **state)
{
    fixture_t *f = *state;
    app_loop_t *l = app_loop_init(0, &f->loop, &f->app);
    assert_non_null(l);
    assert_null(l->http); /* nothing of curl's at start */
    /* The default configuration (SQLite, HS256, no JWKS) loads none of them. */
    assert_false(lazy_curl_loaded());
    assert_false(mapped("libcurl"));
    assert_false(mapped("libpq"));
    assert_false(mapped("librhonabwy"));
    assert_false(mapped("libgnutls"));
    http_client_t *c = app_loop_http(l);
    assert_non_null(c);
    assert_ptr_equal(app_loop_http(l), c); /* one per loop, made once */
    assert_true(lazy_curl_loaded());
    assert_true(mapped("libcurl.so"));
    assert_false(mapped("libpq"));
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
