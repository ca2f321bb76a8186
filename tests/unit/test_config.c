#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"

static const char *const vars[] = {"PORT",
                                   "HOST",
                                   "AGENTOS_ENV",
                                   "BETTER_AUTH_SECRET",
                                   "AGENTOS_WORKERS",
                                   "JWT_LEEWAY_SECONDS",
                                   "MAX_BODY_BYTES",
                                   "LOG_LEVEL",
                                   "DATABASE_URL",
                                   "REDIS_URL",
                                   "AGENTOS_WAL_CHECKPOINT_MS"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static char *write_dotenv(const char *text)
{
    char *path = strdup("/tmp/agentos-test-env-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    setenv("BETTER_AUTH_SECRET", SECRET, 1);
    config_source_t *src = config_source_new();
    config_t cfg;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load(&cfg, src, err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 7777);
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.jwt_leeway, 30);
    assert_int_equal(cfg.max_body_bytes, 1 << 20);
    assert_int_equal(cfg.shutdown_grace_s, 20);
    assert_true(cfg.workers >= 1);
    assert_null(cfg.database_url);
    assert_string_equal(cfg.data_dir, "./data");
    assert_false(cfg.development);
    assert_int_equal(cfg.wal_checkpoint_ms, 200);
    config_free(&cfg);
    config_source_free(src);
}

static void expect_error(config_source_t *src, const char *var)
{
    config_t cfg;
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load(&cfg, src, err, sizeof(err)), -1);
    assert_non_null(strstr(err, var));
    assert_null(strchr(err, '\n'));
}

static void test_secret_required_outside_development(void **state)
{
    (void)state;
    config_source_t *src = config_source_new();
    expect_error(src, "BETTER_AUTH_SECRET");
    setenv("BETTER_AUTH_SECRET", "short", 1);
    expect_error(src, "BETTER_AUTH_SECRET");
    setenv("AGENTOS_ENV", "development", 1);
    unsetenv("BETTER_AUTH_SECRET");
    config_t cfg;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load(&cfg, src, err, sizeof(err)), 0);
    assert_true(cfg.development);
    assert_null(cfg.auth_secret);
    config_free(&cfg);
    config_source_free(src);
}

static void test_bad_values_name_the_variable(void **state)
{
    (void)state;
    setenv("BETTER_AUTH_SECRET", SECRET, 1);
    config_source_t *src = config_source_new();
    setenv("PORT", "abc", 1);
    expect_error(src, "PORT");
    setenv("PORT", "70000", 1);
    expect_error(src, "PORT");
    unsetenv("PORT");
    setenv("AGENTOS_WORKERS", "0", 1);
    expect_error(src, "AGENTOS_WORKERS");
    unsetenv("AGENTOS_WORKERS");
    setenv("AGENTOS_WAL_CHECKPOINT_MS", "5", 1); /* bounded: 10..60000 */
    expect_error(src, "AGENTOS_WAL_CHECKPOINT_MS");
    unsetenv("AGENTOS_WAL_CHECKPOINT_MS");
    setenv("AGENTOS_ENV", "staging", 1);
    expect_error(src, "AGENTOS_ENV");
    config_source_free(src);
}

static void test_dotenv_parsing_and_precedence(void **state)
{
    (void)state;
    char *path = write_dotenv("# comment\n\nexport PORT=8001\nHOST = \"127.0.0.1\"\n"
                              "BETTER_AUTH_SECRET='" SECRET "'\nLOG_LEVEL=debug # trailing\n");
    config_source_t *src = config_source_new();
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_source_load_dotenv(src, path, err, sizeof(err)), 0);
    setenv("PORT", "9002", 1); /* the environment wins over the file */
    config_t cfg;
    assert_int_equal(config_load(&cfg, src, err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 9002);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_string_equal(cfg.auth_secret, SECRET);
    assert_string_equal(cfg.log_level, "debug");
    config_free(&cfg);
    config_source_free(src);
    unlink(path);
    free(path);
}

static void test_dotenv_errors(void **state)
{
    (void)state;
    char err[CONFIG_ERR_MAX];
    const char *bad[] = {"NOEQUALS\n", "1BAD=x\n", "X=\"unterminated\n"};
    for (size_t i = 0; i < 3; i++) {
        char *path = write_dotenv(bad[i]);
        config_source_t *src = config_source_new();
        assert_int_equal(config_source_load_dotenv(src, path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ":1:"));
        config_source_free(src);
        unlink(path);
        free(path);
    }
    config_source_t *src = config_source_new();
    assert_int_equal(config_source_load_dotenv(src, "/nonexistent/.env", err, sizeof(err)), 0);
    config_source_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_secret_required_outside_development, clear_env),
        cmocka_unit_test_setup(test_bad_values_name_the_variable, clear_env),
        cmocka_unit_test_setup(test_dotenv_parsing_and_precedence, clear_env),
        cmocka_unit_test_setup(test_dotenv_errors, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
