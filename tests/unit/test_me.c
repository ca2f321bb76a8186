/* GET /me's body written without jansson (api/me.c): byte for byte what
 * jansson wrote, and jansson's own path for claims that are not plain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/handlers.h"
#include "auth/tenant.h"

static json_t *str_or_null(const char *s)
{
    return *s != '\0' ? json_string(s) : json_null();
}

static char *jansson_body(const auth_tenant_t *t)
{
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "user_id", str_or_null(t->user_id), "session_id",
                  str_or_null(t->session_id), "workspace_id", str_or_null(t->workspace_id), "email",
                  str_or_null(t->email), "name", str_or_null(t->name));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static auth_tenant_t tenant(const char *user, const char *ws, const char *email, const char *name)
{
    auth_tenant_t t;
    memset(&t, 0, sizeof(t));
    snprintf(t.user_id, sizeof(t.user_id), "%s", user);
    snprintf(t.workspace_id, sizeof(t.workspace_id), "%s", ws);
    snprintf(t.email, sizeof(t.email), "%s", email);
    snprintf(t.name, sizeof(t.name), "%s", name);
    return t;
}

static void plain_claims_as_jansson_writes_them(void **state)
{
    (void)state;
    auth_tenant_t ts[] = {tenant("u_1", "ws_1", "a@b.c", "Ann O'Neil / x"), tenant("", "", "", ""),
                          tenant("bench", "ws_bench", "", "~!@#$%^&*()<>{}")};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        char out[sizeof(auth_tenant_t) + 128];
        char *want = jansson_body(&ts[i]);
        size_t n = me_body(&ts[i], out, sizeof(out));
        assert_true(n > 0);
        assert_int_equal(n, strlen(want));
        assert_string_equal(out, want);
        free(want);
    }
}

/* A quote, a backslash, a control or a non-ASCII byte: jansson's path. */
static void other_claims_left_to_jansson(void **state)
{
    (void)state;
    const char *names[] = {"a\"b", "a\\b", "a\nb", "caf\xc3\xa9", "\x7f"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        auth_tenant_t t = tenant("u", "ws", "e@x", names[i]);
        char out[sizeof(auth_tenant_t) + 128];
        assert_int_equal(me_body(&t, out, sizeof(out)), 0);
    }
    /* Too small for the body: never written past cap. */
    auth_tenant_t t = tenant("", "", "", "");
    char *want = jansson_body(&t);
    char exact[128];
    for (size_t cap = 1; cap <= strlen(want); cap++)
        assert_int_equal(me_body(&t, exact, cap), 0);
    assert_int_equal(me_body(&t, exact, sizeof(exact)), strlen(want));
    free(want);
}

/* The byte table agrees with the rule for every byte, in every claim. */
static void every_byte_judged(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, '\0'};
        int plain = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
        auth_tenant_t t = tenant(one, "ws", "e@x", "n");
        char out[sizeof(auth_tenant_t) + 128];
        assert_int_equal(me_body(&t, out, sizeof(out)) > 0, plain);
        t = tenant("u", "ws", "e@x", one);
        assert_int_equal(me_body(&t, out, sizeof(out)) > 0, plain);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_claims_as_jansson_writes_them),
        cmocka_unit_test(other_claims_left_to_jansson),
        cmocka_unit_test(every_byte_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
