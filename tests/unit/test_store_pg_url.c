/* DATABASE_URL as Prisma users share it: Prisma's own parameters dropped,
 * libpq's kept, an unknown one named with DATABASE_URL, and the password
 * never in an error. No server needed: libpq only parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/secret.h"
#include "store/store_pg_url.h"

typedef struct cleaned {
    int rc;
    char *url;
    char note[256];
    char err[512];
} cleaned_t;

static cleaned_t clean(const char *url)
{
    cleaned_t c = {0};
    c.rc = store_pg_url_clean(url, &c.url, c.note, sizeof c.note, c.err, sizeof c.err);
    return c;
}

static void expect_clean(const char *url, const char *want, const char *note)
{
    cleaned_t c = clean(url);
    assert_int_equal(c.rc, 0);
    assert_string_equal(c.url, want);
    assert_string_equal(c.note, note);
    secret_free(c.url);
}

static void test_prisma_parameters_dropped(void **state)
{
    (void)state;
    expect_clean("postgresql://u:p@db:5432/app?schema=public", "postgresql://u:p@db:5432/app",
                 "schema=public");
    expect_clean("postgres://u@db/app?connection_limit=5&pool_timeout=10", "postgres://u@db/app",
                 "connection_limit, pool_timeout");
    expect_clean("postgres://u@db/app?pgbouncer=true&connect_timeout=7&schema=x&sslmode=disable"
                 "&socket_timeout=3&statement_cache_size=0",
                 "postgres://u@db/app?connect_timeout=7&sslmode=disable",
                 "pgbouncer, schema=x, socket_timeout, statement_cache_size");
    expect_clean("postgres://u@db/app?sslidentity=id.p12&sslaccept=strict&application_name=web",
                 "postgres://u@db/app?application_name=web", "sslidentity, sslaccept");
    expect_clean("postgres://u@db/app?max_connection_lifetime=60&max_idle_connection_lifetime=5",
                 "postgres://u@db/app", "max_connection_lifetime, max_idle_connection_lifetime");
}

static void test_plain_urls_unchanged(void **state)
{
    (void)state;
    expect_clean("postgres://u:p@db/app", "postgres://u:p@db/app", "");
    expect_clean("postgres://u@db/app?sslmode=require&options=-c%20x%3D1",
                 "postgres://u@db/app?sslmode=require&options=-c%20x%3D1", "");
    expect_clean("postgres://u@db/app?", "postgres://u@db/app", "");
    expect_clean("postgres://u@db/app?&&schema=a&&", "postgres://u@db/app", "schema=a");
}

/* Only a plain name is shown; anything else shows the key alone. */
static void test_schema_value_shown_only_when_plain(void **state)
{
    (void)state;
    expect_clean("postgres://u@db/app?schema=a%20b", "postgres://u@db/app", "schema");
    expect_clean("postgres://u@db/app?schema", "postgres://u@db/app", "schema");
}

/* The old code: `store: invalid URI query parameter: "schema"`, naming no
 * variable. */
static void test_unknown_parameter_names_database_url(void **state)
{
    (void)state;
    cleaned_t c = clean("postgres://u:hunter2@db/app?schema=public&colour=blue");
    assert_int_equal(c.rc, -1);
    assert_null(c.url);
    assert_non_null(strstr(c.err, "DATABASE_URL"));
    assert_non_null(strstr(c.err, "\"colour\""));
    assert_null(strstr(c.err, "hunter2"));
    assert_null(strchr(c.err, '\n'));
}

static void test_password_never_in_the_error(void **state)
{
    (void)state;
    /* libpq quotes the bad component, here the password itself. */
    cleaned_t c = clean("postgres://u:pa%zzss@db/app");
    assert_int_equal(c.rc, -1);
    assert_non_null(strstr(c.err, "DATABASE_URL"));
    assert_null(strstr(c.err, "pa%zzss"));
    assert_null(strstr(c.err, "zzss"));
    /* ...and here the whole URL. */
    c = clean("postgres://u:s%40cret@[::1/app");
    assert_int_equal(c.rc, -1);
    assert_null(strstr(c.err, "s%40cret"));
    assert_null(strstr(c.err, "s@cret"));
}

static void test_prisma_only_names(void **state)
{
    (void)state;
    assert_true(store_pg_url_prisma_only("schema", 6));
    assert_true(store_pg_url_prisma_only("pgbouncer", 9));
    assert_false(store_pg_url_prisma_only("connect_timeout", 15));
    assert_false(store_pg_url_prisma_only("sslmode", 7));
    assert_false(store_pg_url_prisma_only("schem", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prisma_parameters_dropped),
        cmocka_unit_test(test_plain_urls_unchanged),
        cmocka_unit_test(test_schema_value_shown_only_when_plain),
        cmocka_unit_test(test_unknown_parameter_names_database_url),
        cmocka_unit_test(test_password_never_in_the_error),
        cmocka_unit_test(test_prisma_only_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
