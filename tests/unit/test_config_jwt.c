/* The end-user token settings (issue 10): JWT_REQUIRE_EXP, the claim names,
 * and BETTER_AUTH_URL's origin (src/core/config.c, config_jwt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/config_jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"

static const char *const vars[] = {"AGENTOS_ENV",         "BETTER_AUTH_SECRET", "JWT_REQUIRE_EXP",
                                   "JWT_WORKSPACE_CLAIM", "JWT_SESSION_CLAIM",  "BETTER_AUTH_URL",
                                   "JWT_ISSUER",          "JWT_AUDIENCE"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static config_source_t *source(const char *env)
{
    config_source_t *src = config_source_new();
    assert_non_null(src);
    assert_int_equal(config_source_set(src, "BETTER_AUTH_SECRET", SECRET), 0);
    if (env != NULL)
        assert_int_equal(config_source_set(src, "AGENTOS_ENV", env), 0);
    return src;
}

static void load_ok(config_source_t *src, config_t *cfg)
{
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load(cfg, src, err, sizeof err), 0);
}

static void expect_error(config_source_t *src, const char *var)
{
    config_t cfg;
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load(&cfg, src, err, sizeof err), -1);
    assert_non_null(strstr(err, var));
    assert_null(strchr(err, '\n'));
}

/* The defect of issue 10: a token without exp was accepted everywhere. */
static void test_require_exp_default_follows_the_environment(void **state)
{
    (void)state;
    const char *envs[] = {NULL, "production", "test", "development"};
    for (size_t i = 0; i < 4; i++) {
        config_source_t *src = source(envs[i]);
        config_t cfg;
        load_ok(src, &cfg);
        assert_int_equal(cfg.jwt_require_exp, i < 3);
        config_free(&cfg);
        config_source_free(src);
    }
    config_source_t *src = source("development");
    config_source_set(src, "JWT_REQUIRE_EXP", "true");
    config_t cfg;
    load_ok(src, &cfg);
    assert_int_equal(cfg.jwt_require_exp, 1);
    config_free(&cfg);
    config_source_free(src);
    src = source("production");
    config_source_set(src, "JWT_REQUIRE_EXP", "false");
    load_ok(src, &cfg);
    assert_int_equal(cfg.jwt_require_exp, 0);
    config_free(&cfg);
    config_source_set(src, "JWT_REQUIRE_EXP", "maybe");
    expect_error(src, "JWT_REQUIRE_EXP");
    config_source_free(src);
}

static void test_claim_names(void **state)
{
    (void)state;
    config_source_t *src = source(NULL);
    config_t cfg;
    load_ok(src, &cfg);
    assert_string_equal(cfg.jwt_workspace_claim, "workspaceId");
    assert_string_equal(cfg.jwt_session_claim, "sessionId");
    assert_null(cfg.better_auth_origin);
    config_free(&cfg);
    config_source_set(src, "JWT_WORKSPACE_CLAIM", "activeOrganizationId");
    config_source_set(src, "JWT_SESSION_CLAIM", "sid");
    load_ok(src, &cfg);
    assert_string_equal(cfg.jwt_workspace_claim, "activeOrganizationId");
    assert_string_equal(cfg.jwt_session_claim, "sid");
    config_free(&cfg);
    config_source_set(src, "JWT_SESSION_CLAIM", "activeOrganizationId");
    expect_error(src, "JWT_SESSION_CLAIM");
    config_source_free(src);

    const char *bad[] = {"sub", "exp", "work space", "ws\"id", "a\tb", "é", "iss"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        src = source(NULL);
        config_source_set(src, "JWT_WORKSPACE_CLAIM", bad[i]);
        expect_error(src, "JWT_WORKSPACE_CLAIM");
        config_source_free(src);
    }
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    assert_non_null(config_jwt_claim_problem(longname));
    longname[64] = '\0';
    assert_null(config_jwt_claim_problem(longname));
    assert_null(config_jwt_claim_problem("https://example.com/claims/org_id"));
    assert_non_null(config_jwt_claim_problem(""));
}

static void expect_origin(const char *url, const char *origin)
{
    char *got = config_jwt_origin(url);
    if (origin == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, origin);
    free(got);
}

/* As new URL(u).origin, which better-auth writes as iss and aud. */
static void test_origin(void **state)
{
    (void)state;
    expect_origin("http://localhost:3000", "http://localhost:3000");
    expect_origin("http://localhost:3000/", "http://localhost:3000");
    expect_origin("https://App.Example.COM/api/auth?x=1#f", "https://app.example.com");
    expect_origin("HTTPS://app.example.com:443/", "https://app.example.com");
    expect_origin("http://app.example.com:80", "http://app.example.com");
    expect_origin("http://app.example.com:0080", "http://app.example.com");
    expect_origin("https://app.example.com:80", "https://app.example.com:80");
    expect_origin("http://user:pw@web:3000/x", "http://web:3000");
    expect_origin("http://[::1]:3000/", "http://[::1]:3000");
    expect_origin("http://web:", "http://web");
    expect_origin("ftp://web", NULL);
    expect_origin("web:3000", NULL);
    expect_origin("http://", NULL);
    expect_origin("http:///path", NULL);
    expect_origin("http://web:99999", NULL);
    expect_origin("http://web:30a0", NULL);
    expect_origin("http://we b", NULL);
    expect_origin("http://[::1", NULL);
}

static void test_better_auth_url(void **state)
{
    (void)state;
    config_source_t *src = source(NULL);
    config_source_set(src, "BETTER_AUTH_URL", "http://Web:3000/");
    config_t cfg;
    load_ok(src, &cfg);
    assert_string_equal(cfg.better_auth_origin, "http://web:3000");
    assert_null(cfg.jwt_issuer); /* the default applies to JWKS tokens, in auth */
    assert_null(cfg.jwt_audience);
    config_free(&cfg);
    config_source_set(src, "BETTER_AUTH_URL", "web:3000");
    expect_error(src, "BETTER_AUTH_URL");
    config_source_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_require_exp_default_follows_the_environment, clear_env),
        cmocka_unit_test_setup(test_claim_names, clear_env),
        cmocka_unit_test(test_origin),
        cmocka_unit_test_setup(test_better_auth_url, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
