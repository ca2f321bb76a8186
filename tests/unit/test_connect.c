/* The connect routes' pieces: /config's body (api/config_view.c) and the
 * served files (api/static_files.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/config_view.h"
#include "api/static_files.h"
#include "core/log.h"

static agent_def_t agent(char *id, char *provider, char *model, char *description)
{
    agent_def_t a;
    memset(&a, 0, sizeof a);
    a.id = id;
    a.name = id;
    a.provider = provider;
    a.model_id = model;
    a.description = description;
    return a;
}

static void test_config_models_are_unique_and_spelled_as_agno(void **state)
{
    (void)state;
    agent_def_t defs[3] = {agent("a", "openai", "gpt-4o-mini", "first"),
                           agent("b", "openai", "gpt-4o-mini", NULL),
                           agent("c", "anthropic", "claude-x", NULL)};
    agent_registry_t reg = {.agents = defs, .nagents = 3};
    json_t *cfg = config_view_build("os-1", "sqlite", &reg);
    assert_non_null(cfg);
    json_t *want = json_pack("[{s:s, s:s}, {s:s, s:s}]", "id", "gpt-4o-mini", "provider", "OpenAI",
                             "id", "claude-x", "provider", "Anthropic");
    assert_true(json_equal(json_object_get(cfg, "available_models"), want));
    json_decref(want);
    assert_string_equal(json_string_value(json_object_get(cfg, "os_id")), "os-1");
    assert_string_equal(json_string_value(json_object_get(cfg, "os_database")), "agentos-sqlite");
    json_t *agents = json_object_get(cfg, "agents");
    assert_int_equal(json_array_size(agents), 3);
    /* A missing description is left out, not null. */
    assert_non_null(json_object_get(json_array_get(agents, 0), "description"));
    assert_null(json_object_get(json_array_get(agents, 1), "description"));
    /* Only company is ever null. */
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v)
    {
        if (json_is_null(v))
            assert_string_equal(key, "company");
    }
    assert_true(json_is_null(json_object_get(cfg, "company")));
    json_decref(cfg);
}

static void test_config_without_agents(void **state)
{
    (void)state;
    agent_registry_t reg = {0};
    json_t *cfg = config_view_build("os-2", "postgres", &reg);
    assert_int_equal(json_array_size(json_object_get(cfg, "agents")), 0);
    assert_int_equal(json_array_size(json_object_get(cfg, "available_models")), 0);
    json_t *dbs = json_object_get(json_object_get(cfg, "session"), "dbs");
    assert_string_equal(json_string_value(json_object_get(json_array_get(dbs, 0), "db_id")),
                        "agentos-postgres");
    json_decref(cfg);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* Whether path is mapped into this process (/proc/self/maps). */
static int is_mapped(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4400];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, path) != NULL;
    fclose(f);
    return found;
}

static void test_statics_load_and_refuse(void **state)
{
    (void)state;
    char dir[] = "/tmp/agentos-static-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], ui[256];
    api_statics_t s;
    /* Nothing there: both off, with reasons that name no path. */
    api_statics_load(&s, dir);
    assert_null(s.openapi.data);
    assert_false(s.docs_ready);
    assert_null(strstr(s.docs_error, dir));
    api_statics_free(&s);

    snprintf(path, sizeof path, "%s/openapi.json", dir);
    write_file(path, "{}", 2);
    snprintf(ui, sizeof ui, "%s/swagger-ui", dir);
    assert_int_equal(mkdir(ui, 0700), 0);
    char js[300], css[300];
    snprintf(js, sizeof js, "%s/swagger-ui-bundle.js", ui);
    snprintf(css, sizeof css, "%s/swagger-ui.css", ui);
    write_file(js, "x", 1);
    /* One asset missing: /docs stays off. */
    api_statics_load(&s, dir);
    assert_int_equal(s.openapi.len, 2);
    assert_memory_equal(s.openapi.data, "{}", 2);
    assert_false(s.docs_ready);
    api_statics_free(&s);

    write_file(css, "body{}", 6);
    api_statics_load(&s, dir);
    assert_true(s.docs_ready);
    assert_int_equal(s.assets[STATIC_ASSET_CSS].len, 6);
    assert_memory_equal(s.assets[STATIC_ASSET_CSS].data, "body{}", 6);
    /* Served from a mapping of the file, not a copy on the heap: the 1.7 MB
     * bundle was a third of the idle service's private memory. */
    assert_true(is_mapped(css));
    api_statics_free(&s);
    assert_false(is_mapped(css));

    /* An empty file is refused; so is one past the bound. */
    write_file(path, "", 0);
    api_statics_load(&s, dir);
    assert_null(s.openapi.data);
    api_statics_free(&s);
    assert_int_equal(truncate(path, (off_t)STATIC_OPENAPI_MAX + 1), 0);
    api_statics_load(&s, dir);
    assert_null(s.openapi.data);
    api_statics_free(&s);

    unlink(js);
    unlink(css);
    rmdir(ui);
    unlink(path);
    rmdir(dir);
}

static void test_default_dir_is_beside_the_binary(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(static_default_dir(out, sizeof out), 0);
    assert_non_null(strstr(out, "/../"));
    assert_int_equal(static_default_dir(out, 4), -1);
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_models_are_unique_and_spelled_as_agno),
        cmocka_unit_test(test_config_without_agents),
        cmocka_unit_test(test_statics_load_and_refuse),
        cmocka_unit_test(test_default_dir_is_beside_the_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
