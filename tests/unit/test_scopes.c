/* The scope matcher against agno/os/scopes.py's documented examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth/scopes.h"

static int grant1(const char *have, const char *need, const char *type, const char *id)
{
    const char *h[] = {have};
    return scopes_grant(h, 1, need, type, id);
}

static void test_admin_grants_everything(void **state)
{
    (void)state;
    assert_true(grant1("agent_os:admin", "agents:read", NULL, NULL));
    assert_true(grant1("agent_os:admin", "agents:run", "agents", "web-agent"));
    assert_true(grant1("agent_os:admin", "sessions:delete", NULL, NULL));
    assert_true(grant1("agent_os:admin", "agent_os:admin", NULL, NULL));
    /* nothing but the admin scope grants admin */
    assert_false(grant1("agent_os:read", "agent_os:admin", NULL, NULL));
    assert_false(grant1("agents:*:run", "agent_os:admin", NULL, NULL));
}

static void test_global_scope(void **state)
{
    (void)state;
    assert_true(grant1("agents:read", "agents:read", NULL, NULL));
    assert_false(grant1("agents:read", "agents:write", NULL, NULL));
    assert_false(grant1("teams:read", "agents:read", NULL, NULL));
    /* a global grant covers each resource of the family */
    assert_true(grant1("agents:run", "agents:run", "agents", "web-agent"));
}

static void test_per_resource_and_wildcard(void **state)
{
    (void)state;
    assert_true(grant1("agents:web-agent:run", "agents:run", "agents", "web-agent"));
    assert_false(grant1("agents:web-agent:run", "agents:run", "agents", "other-agent"));
    assert_false(grant1("agents:web-agent:read", "agents:run", "agents", "web-agent"));
    assert_true(grant1("agents:*:run", "agents:run", "agents", "any-agent"));
    /* a list route (no id): a wildcard grants it, one resource does not */
    assert_true(grant1("agents:*:read", "agents:read", NULL, NULL));
    assert_false(grant1("agents:web-agent:read", "agents:read", NULL, NULL));
    /* a required 3-part scope is matched against the request's id */
    assert_true(grant1("agents:web-agent:run", "agents:<id>:run", "agents", "web-agent"));
    assert_true(grant1("agents:*:run", "agents:<id>:run", "agents", "web-agent"));
    /* a prefix or a longer id is another id */
    assert_false(grant1("agents:web:run", "agents:run", "agents", "web-agent"));
    assert_false(grant1("agents:web-agent-2:run", "agents:run", "agents", "web-agent"));
}

static void test_other_family_is_not_rewritten(void **state)
{
    (void)state;
    /* a route under /agents/{id} needing sessions:read: agents:<id>:read is no help */
    assert_false(grant1("agents:web-agent:read", "sessions:read", "agents", "web-agent"));
    assert_true(grant1("sessions:read", "sessions:read", "agents", "web-agent"));
    assert_false(grant1("sessions:web-agent:read", "sessions:read", "agents", "web-agent"));
}

static void test_legacy_system_is_config(void **state)
{
    (void)state;
    assert_true(grant1("system:read", "config:read", NULL, NULL));
    assert_true(grant1("config:read", "system:read", NULL, NULL));
    assert_false(grant1("system:read", "config:write", NULL, NULL));
}

static void test_malformed_scopes_match_nothing(void **state)
{
    (void)state;
    assert_false(grant1("agents", "agents:read", NULL, NULL));
    assert_false(grant1("agents:a:b:read", "agents:read", NULL, NULL));
    assert_false(grant1("", "agents:read", NULL, NULL));
    assert_false(grant1("agents:read", "agents:a:b:read", NULL, NULL));
    assert_false(grant1("*", "agents:read", NULL, NULL));
    assert_false(grant1("agents:*", "agents:read", NULL, NULL)); /* the action is literal */
}

static void test_lists(void **state)
{
    (void)state;
    const char *have[] = {"teams:read", "bogus", "agents:web-agent:run"};
    assert_true(scopes_grant(have, 3, "agents:run", "agents", "web-agent"));
    assert_true(scopes_grant(have, 3, "teams:read", NULL, NULL));
    assert_false(scopes_grant(have, 3, "agents:read", NULL, NULL));
    assert_false(scopes_grant(NULL, 0, "agents:read", NULL, NULL));
    assert_true(scopes_grant(NULL, 0, NULL, NULL, NULL)); /* nothing required */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_grants_everything),
        cmocka_unit_test(test_global_scope),
        cmocka_unit_test(test_per_resource_and_wildcard),
        cmocka_unit_test(test_other_family_is_not_rewritten),
        cmocka_unit_test(test_legacy_system_is_config),
        cmocka_unit_test(test_malformed_scopes_match_nothing),
        cmocka_unit_test(test_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
