#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/registry.h"

#define ERRLEN 512

static char tmpdir[64];

static const char *const vars[] = {
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENROUTER_API_KEY",
    "TASKS_URL",
    "TASKS_API_TOKEN",
    "REG_TEST_MODEL",
    "REG_TEST_EMPTY",
    "REG_TEST_UNSET",
    "MY_KEY",
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    strcpy(tmpdir, "/tmp/agentos-registry-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Writes tmpdir/name; returns its path (static: valid until the next call). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    return path;
}

static int load(agent_registry_t *reg, const char *text, char *err)
{
    memset(reg, 0, sizeof(*reg));
    err[0] = '\0';
    return registry_load_file(reg, write_file("agent.yaml", text), err, ERRLEN);
}

static const agent_def_t *load_ok(agent_registry_t *reg, const char *text)
{
    char err[ERRLEN];
    if (load(reg, text, err) != 0)
        fail_msg("load failed: %s", err);
    assert_int_equal(reg->nagents, 1);
    return &reg->agents[0];
}

/* The error must read "<path>:<line>: ..." and mention `what`. */
static void expect_error_at(const char *text, int line, const char *what)
{
    agent_registry_t reg;
    char err[ERRLEN], prefix[128];
    int rc = load(&reg, text, err);
    snprintf(prefix, sizeof(prefix), "%s/agent.yaml:%d: ", tmpdir, line);
    int ok = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, what) &&
             reg.nagents == 0 && !strchr(err, '\n');
    if (!ok)
        print_error("expected '%s...%s', got rc %d '%s'\n", prefix, what, rc, err);
    registry_free(&reg);
    assert_true(ok);
}

#define MINIMAL "id: a\nmodel: {id: m}\n"

/* ---- loading ---- */

static const char *const full_example =
    "id: workspace-assistant          # required\n"
    "name: Workspace Assistant\n"
    "description: Helps with the workspace\n"
    "instructions: |\n"
    "  Be helpful.\n"
    "  Be brief.\n"
    "model:\n"
    "  provider: openai\n"
    "  id: gpt-4o-mini\n"
    "  base_url: ${OPENAI_BASE_URL:-https://api.openai.com/v1}\n"
    "  api_key_env: OPENAI_API_KEY\n"
    "tools:\n"
    "  - current_time\n"
    "  - name: create_task\n"
    "    description: Create a task in the workspace\n"
    "    parameters: {type: object, properties: {title: {type: string}}, required: [title]}\n"
    "    url: ${TASKS_URL:-http://api:3000}/agent-tools/tasks\n"
    "    method: POST\n"
    "    headers:\n"
    "      Authorization: {env: TASKS_API_TOKEN}\n"
    "      X-Client: agentos\n"
    "    timeout_ms: 5000\n"
    "add_history_to_context: true\n"
    "num_history_runs: 5\n"
    "tool_call_limit: 20\n"
    "max_model_turns: 6\n"
    "timeout_seconds: 90\n"
    "temperature: 0.2\n"
    "max_tokens: 1024\n"
    "metadata: {team: platform, version: 2, ratio: 0.5, beta: false, owner: null, "
    "code: \"1\", tags: [a, 'b']}\n";

/* full_example's two tools, a builtin one and an HTTP one. */
static void assert_full_example_tools(const agent_def_t *a)
{
    assert_int_equal(a->ntools, 2);
    const tool_def_t *t = &a->tools[0];
    assert_int_equal(t->kind, TOOL_BUILTIN);
    assert_string_equal(t->name, "current_time");
    assert_non_null(t->description);
    assert_true(json_is_object(t->parameters));

    t = &a->tools[1];
    assert_int_equal(t->kind, TOOL_HTTP);
    assert_string_equal(t->name, "create_task");
    assert_string_equal(t->description, "Create a task in the workspace");
    assert_string_equal(t->url, "http://api:3000/agent-tools/tasks");
    assert_string_equal(t->method, "POST");
    assert_int_equal(t->timeout_ms, 5000);
    char *params = json_dumps(t->parameters, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(params, "{\"properties\":{\"title\":{\"type\":\"string\"}},"
                                "\"required\":[\"title\"],\"type\":\"object\"}");
    free(params);
    assert_int_equal(t->nheaders, 2);
    assert_string_equal(t->headers[0].name, "Authorization");
    assert_string_equal(t->headers[0].value_env, "TASKS_API_TOKEN");
    assert_string_equal(t->headers[0].value, "Bearer tok-123");
    assert_string_equal(t->headers[1].name, "X-Client");
    assert_null(t->headers[1].value_env);
    assert_string_equal(t->headers[1].value, "agentos");
}

static void test_full_example(void **state)
{
    (void)state;
    setenv("TASKS_API_TOKEN", "Bearer tok-123", 1);
    setenv("OPENAI_API_KEY", "sk-test", 1);
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, full_example);
    assert_string_equal(a->id, "workspace-assistant");
    assert_string_equal(a->name, "Workspace Assistant");
    assert_string_equal(a->description, "Helps with the workspace");
    assert_string_equal(a->instructions, "Be helpful.\nBe brief.\n");
    assert_string_equal(a->provider, "openai");
    assert_ptr_equal(a->model.provider, &model_provider_openai);
    assert_string_equal(a->model.id, "gpt-4o-mini");
    assert_string_equal(a->model.base_url, "https://api.openai.com/v1");
    assert_string_equal(a->model.api_key, "sk-test");
    assert_string_equal(a->api_key_env, "OPENAI_API_KEY");
    assert_true(a->model.has_temperature);
    assert_true(a->model.temperature > 0.19 && a->model.temperature < 0.21);
    assert_int_equal(a->model.max_tokens, 1024);
    assert_true(a->add_history_to_context);
    assert_int_equal(a->num_history_runs, 5);
    assert_int_equal(a->tool_call_limit, 20);
    assert_int_equal(a->max_model_turns, 6);
    assert_int_equal(a->timeout_seconds, 90);
    assert_string_equal(a->file, write_file("agent.yaml", ""));

    assert_full_example_tools(a);

    char *meta = json_dumps(a->metadata, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(meta, "{\"beta\":false,\"code\":\"1\",\"owner\":null,\"ratio\":0.5,"
                              "\"tags\":[\"a\",\"b\"],\"team\":\"platform\",\"version\":2}");
    free(meta);
    assert_ptr_equal(registry_find(&reg, "workspace-assistant"), a);
    assert_null(registry_find(&reg, "other"));
    assert_null(registry_find(&reg, NULL));
    registry_free(&reg);
    registry_free(&reg); /* idempotent */
}

static void test_defaults(void **state)
{
    (void)state;
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, MINIMAL);
    assert_string_equal(a->name, "a");
    assert_null(a->description);
    assert_null(a->instructions);
    assert_string_equal(a->provider, "openai");
    assert_ptr_equal(a->model.provider, &model_provider_openai);
    assert_string_equal(a->model.id, "m");
    assert_string_equal(a->model.base_url, "https://api.openai.com/v1");
    assert_string_equal(a->api_key_env, "OPENAI_API_KEY");
    assert_null(a->model.api_key); /* unset: allowed, a local server needs none */
    assert_false(a->model.has_temperature);
    assert_int_equal(a->model.max_tokens, 0);
    assert_int_equal(a->ntools, 0);
    assert_false(a->add_history_to_context);
    assert_int_equal(a->num_history_runs, 3);
    assert_int_equal(a->tool_call_limit, 10);
    assert_int_equal(a->max_model_turns, 16);
    assert_int_equal(a->timeout_seconds, 0); /* RUN_TIMEOUT_SECONDS applies */
    assert_null(a->metadata);
    registry_free(&reg);
}

static void test_provider_defaults(void **state)
{
    (void)state;
    agent_registry_t reg;
    setenv("OPENAI_BASE_URL", "http://localhost:11434/v1", 1);
    setenv("ANTHROPIC_API_KEY", "ak-test", 1);
    const agent_def_t *a = load_ok(&reg, MINIMAL);
    assert_string_equal(a->model.base_url, "http://localhost:11434/v1");
    registry_free(&reg);

    a = load_ok(&reg, "id: a\nmodel: {provider: anthropic, id: claude}\n");
    assert_ptr_equal(a->model.provider, &model_provider_anthropic);
    assert_string_equal(a->model.base_url, "https://api.anthropic.com/v1");
    assert_string_equal(a->api_key_env, "ANTHROPIC_API_KEY");
    assert_string_equal(a->model.api_key, "ak-test");
    registry_free(&reg);

    setenv("ANTHROPIC_BASE_URL", "http://mock:9000/v1", 1);
    a = load_ok(&reg, "id: a\nmodel: {provider: anthropic, id: claude}\n");
    assert_string_equal(a->model.base_url, "http://mock:9000/v1");
    registry_free(&reg);

    /* A local server gets no provider's key unless the YAML names one. */
    setenv("OPENAI_API_KEY", "sk-test", 1);
    a = load_ok(&reg, "id: a\nmodel: {provider: ollama, id: llama3}\n");
    assert_ptr_equal(a->model.provider, &model_provider_openai);
    assert_string_equal(a->model.base_url, "http://localhost:11434/v1");
    assert_null(a->api_key_env);
    assert_null(a->model.api_key);
    registry_free(&reg);

    a = load_ok(&reg, "id: a\nmodel: {provider: LMStudio, id: qwen}\n");
    assert_string_equal(a->provider, "LMStudio");
    assert_string_equal(a->model.base_url, "http://localhost:1234/v1");
    assert_null(a->model.api_key);
    registry_free(&reg);

    setenv("MY_KEY", "k-1", 1);
    a = load_ok(&reg, "id: a\nmodel: {provider: vllm, id: q, base_url: 'http://gpu:8000/v1', "
                      "api_key_env: MY_KEY}\n");
    assert_string_equal(a->model.base_url, "http://gpu:8000/v1");
    assert_string_equal(a->model.api_key, "k-1");
    registry_free(&reg);
}

static void test_env_expansion(void **state)
{
    (void)state;
    agent_registry_t reg;
    const char *yaml = "id: a\n"
                       "model:\n"
                       "  id: ${REG_TEST_MODEL:-gpt-4o-mini}\n"
                       "  base_url: ${REG_TEST_EMPTY:-http://x:1}/v1\n"
                       "tools:\n"
                       "  - name: t\n"
                       "    description: d\n"
                       "    url: http://${REG_TEST_MODEL}/p?q=${REG_TEST_MODEL:-}\n"
                       "    headers: {Authorization: 'Bearer ${MY_KEY}'}\n";
    setenv("REG_TEST_MODEL", "gpt-4o", 1);
    setenv("REG_TEST_EMPTY", "", 1); /* empty counts as unset for :- */
    setenv("MY_KEY", "s3", 1);
    const agent_def_t *a = load_ok(&reg, yaml);
    assert_string_equal(a->model.id, "gpt-4o");
    assert_string_equal(a->model.base_url, "http://x:1/v1");
    assert_string_equal(a->tools[0].url, "http://gpt-4o/p?q=gpt-4o");
    assert_string_equal(a->tools[0].headers[0].value, "Bearer s3");
    registry_free(&reg);

    unsetenv("REG_TEST_MODEL");
    expect_error_at(yaml, 8, "environment variable REG_TEST_MODEL is not set");
    expect_error_at("id: a\nmodel: {id: '${REG_TEST_UNSET'}\n", 2, "unterminated ${");
    expect_error_at("id: a\nmodel: {id: '${1X}'}\n", 2, "bad variable reference");
    expect_error_at("id: a\nmodel: {id: '${X-y}'}\n", 2, "bad variable reference");
    expect_error_at("id: a\nmodel: {id: '${}'}\n", 2, "bad variable reference");
    /* Text that only looks like a reference stays as written elsewhere. */
    a = load_ok(&reg, "id: a\ndescription: costs ${REG_TEST_UNSET}\nmodel: {id: m$x}\n");
    assert_string_equal(a->description, "costs ${REG_TEST_UNSET}");
    assert_string_equal(a->model.id, "m$x");
    registry_free(&reg);
}

static void test_list_instructions(void **state)
{
    (void)state;
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, "id: a\n"
                                         "model: {id: m}\n"
                                         "instructions:\n"
                                         "  - Be helpful.\n"
                                         "  - 'Never invent data: ask.'\n"
                                         "  - 42\n");
    assert_string_equal(a->instructions, "Be helpful.\nNever invent data: ask.\n42");
    registry_free(&reg);

    a = load_ok(&reg, "id: a\nmodel: {id: m}\ninstructions: []\ntools: []\nmetadata: {}\n");
    assert_string_equal(a->instructions, "");
    assert_int_equal(a->ntools, 0);
    assert_int_equal(json_object_size(a->metadata), 0);
    registry_free(&reg);

    expect_error_at("id: a\nmodel: {id: m}\ninstructions:\n  - ok\n  - {a: b}\n", 5,
                    "an instruction must be a string");
}

static void test_yaml_to_json_scalars(void **state)
{
    (void)state;
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, "id: a\nmodel: {id: m}\n"
                                         "metadata:\n"
                                         "  i: -12\n"
                                         "  f: 1.5e3\n"
                                         "  s1: '12'\n"
                                         "  s2: \"true\"\n"
                                         "  t: True\n"
                                         "  n: ~\n"
                                         "  e:\n"
                                         "  words: hello world\n"
                                         "  yes: yes\n"
                                         "  block: |\n"
                                         "    7\n"
                                         "  anchor: &x {k: 1}\n"
                                         "  alias: *x\n");
    char *meta = json_dumps(a->metadata, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(meta, "{\"alias\":{\"k\":1},\"anchor\":{\"k\":1},\"block\":\"7\\n\","
                              "\"e\":null,\"f\":1500.0,\"i\":-12,\"n\":null,\"s1\":\"12\","
                              "\"s2\":\"true\",\"t\":true,\"words\":\"hello world\","
                              "\"yes\":\"yes\"}");
    free(meta);
    registry_free(&reg);
}

/* ---- errors, each with its line ---- */

static void test_errors_structure(void **state)
{
    (void)state;
    expect_error_at("id: a\nmodel: {id: m}\nsurprise: 1\n", 3, "unknown key 'surprise'");
    expect_error_at("id: a\nmodel:\n  id: m\n  temperature: 1\n", 4,
                    "unknown model key 'temperature'");
    expect_error_at("name: x\nmodel: {id: m}\n", 1, "id is required");
    expect_error_at("\n\nid: a\nname: x\n", 3, "model is required");
    expect_error_at("id: a\nmodel:\n  provider: openai\n", 3, "model.id is required");
    expect_error_at("id: a\nmodel: {id: ''}\n", 2, "model.id is required");
    expect_error_at("id: a\nmodel: gpt-4o\n", 2, "model must be a mapping");
    expect_error_at("id: Bad Id\nmodel: {id: m}\n", 1, "id must match");
    expect_error_at("id: a\nmodel: {id: m}\nid: b\n", 3, "duplicate key 'id'");
    expect_error_at("- id: a\n", 1, "an agent definition must be a mapping");
    expect_error_at("", 1, "the file is empty");
    expect_error_at("# nothing\n", 1, "the file is empty");
    expect_error_at(MINIMAL "---\nid: b\n", 4, "only one YAML document per file");
    expect_error_at("id: a\nmodel: {id: m}\nname: [x]\n", 3, "name must be a string");
    expect_error_at("id: a\nmodel: {id: m}\ndescription: \"x\\0y\"\n", 3, "NUL");
    expect_error_at("id: a\nmodel: {id: m}\n? [k]\n: v\n", 3, "a key must be a string");
}

static void test_errors_types_and_ranges(void **state)
{
    (void)state;
    expect_error_at(MINIMAL "num_history_runs: abc\n", 3,
                    "num_history_runs must be an integer, got 'abc'");
    expect_error_at(MINIMAL "num_history_runs: '3'\n", 3, "num_history_runs must be an integer");
    expect_error_at(MINIMAL "num_history_runs: 101\n", 3, "between 0 and 100");
    expect_error_at(MINIMAL "num_history_runs: -1\n", 3, "between 0 and 100");
    expect_error_at(MINIMAL "tool_call_limit: 0\n", 3, "tool_call_limit must be between 1 and 100");
    expect_error_at(MINIMAL "tool_call_limit: 1.5\n", 3, "must be an integer");
    expect_error_at(MINIMAL "tool_call_limit: 99999999999999999999\n", 3, "must be an integer");
    expect_error_at(MINIMAL "max_model_turns: 0\n", 3, "max_model_turns must be between 1 and 100");
    expect_error_at(MINIMAL "max_model_turns: 101\n", 3, "between 1 and 100");
    expect_error_at(MINIMAL "timeout_seconds: 0\n", 3,
                    "timeout_seconds must be between 1 and 86400");
    expect_error_at(MINIMAL "timeout_seconds: 1.5\n", 3, "must be an integer");
    expect_error_at(MINIMAL "temperature: 2.5\n", 3, "temperature must be between 0 and 2");
    expect_error_at(MINIMAL "temperature: warm\n", 3, "temperature must be a number");
    expect_error_at(MINIMAL "max_tokens: 0\n", 3, "max_tokens must be between 1 and 200000");
    expect_error_at(MINIMAL "max_tokens: 200001\n", 3, "max_tokens");
    expect_error_at(MINIMAL "add_history_to_context: yes\n", 3,
                    "add_history_to_context must be true or false");
    expect_error_at(MINIMAL "metadata: [a]\n", 3, "metadata must be a mapping");
    expect_error_at(MINIMAL "metadata:\n  a: 1\n  a: 2\n", 5, "duplicate key 'a'");
    expect_error_at(MINIMAL "tools: current_time\n", 3, "tools must be a list");

    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, MINIMAL "temperature: 0\nnum_history_runs: 0\n"
                                                 "tool_call_limit: 100\nmax_tokens: 200000\n");
    assert_true(a->model.has_temperature);
    assert_true(a->model.temperature == 0);
    assert_int_equal(a->num_history_runs, 0);
    assert_int_equal(a->tool_call_limit, 100);
    assert_int_equal(a->model.max_tokens, 200000);
    registry_free(&reg);
}

static void test_errors_model(void **state)
{
    (void)state;
    expect_error_at("id: a\nmodel:\n  id: m\n  provider: skynet\n", 4,
                    "unknown model provider 'skynet'");
    expect_error_at("id: a\nmodel:\n  id: m\n  base_url: ftp://x\n", 4,
                    "model.base_url must start with http:// or https://");
    setenv("OPENAI_BASE_URL", "localhost:11434", 1);
    expect_error_at("id: a\nmodel:\n  id: m\n", 3, "OPENAI_BASE_URL must start with http://");
}

static void test_errors_tools(void **state)
{
    (void)state;
    expect_error_at(MINIMAL "tools:\n  - current_time\n  - rm_rf\n", 5,
                    "unknown built-in tool 'rm_rf' (known: current_time, calculator");
    expect_error_at(MINIMAL "tools:\n  - [x]\n", 4, "a tool must be");
    expect_error_at(MINIMAL "tools:\n  - current_time\n  - calculator\n  - current_time\n", 6,
                    "duplicate tool name 'current_time'");
    const char *http = MINIMAL "tools:\n"
                               "  - name: create_task\n"
                               "    description: Create\n"
                               "    url: http://api:3000/t\n";
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, http);
    assert_string_equal(a->tools[0].method, "POST");
    assert_int_equal(a->tools[0].timeout_ms, 10000);
    assert_string_equal(json_string_value(json_object_get(a->tools[0].parameters, "type")),
                        "object");
    assert_int_equal(a->tools[0].nheaders, 0);
    registry_free(&reg);

    expect_error_at(MINIMAL "tools:\n  - description: d\n    url: http://x\n", 4,
                    "tool: name is required");
    expect_error_at(MINIMAL "tools:\n  - name: t\n    url: http://x\n", 4,
                    "tool t: description is required");
    expect_error_at(MINIMAL "tools:\n  - name: t\n    description: d\n", 4,
                    "tool t: url is required");
    expect_error_at(MINIMAL "tools:\n  - name: t\n    description: d\n    url: x\n", 6,
                    "url must start with http:// or https://");
    expect_error_at(MINIMAL "tools:\n  - name: bad name\n    description: d\n    url: http://x\n",
                    4, "tool name 'bad name' must match");
    expect_error_at(MINIMAL "tools:\n  - current_time\n"
                            "  - {name: current_time, description: d, url: 'http://x'}\n",
                    5, "duplicate tool name 'current_time'");
    expect_error_at(MINIMAL "tools:\n  - {name: t, description: d, url: 'http://x', "
                            "method: TRACE}\n",
                    4, "method must be GET, POST, PUT, PATCH or DELETE");
    expect_error_at(MINIMAL "tools:\n  - {name: t, description: d, url: 'http://x', "
                            "timeout_ms: 0}\n",
                    4, "timeout_ms must be between");
    expect_error_at(MINIMAL "tools:\n  - {name: t, description: d, url: 'http://x', "
                            "parameters: {type: string}}\n",
                    4, "parameters must be a JSON schema of type object");
    expect_error_at(MINIMAL "tools:\n  - name: t\n    description: d\n    url: http://x\n"
                            "    retries: 3\n",
                    7, "unknown tool key 'retries'");
}

/* Issue 10: GET and DELETE tools (their arguments go in the query). */
static void test_query_methods(void **state)
{
    (void)state;
    agent_registry_t reg;
    const agent_def_t *a =
        load_ok(&reg, MINIMAL "tools:\n"
                              "  - {name: find, description: d, url: 'http://x/f', method: get}\n"
                              "  - {name: drop, description: d, url: 'http://x/d', "
                              "method: DELETE}\n");
    assert_string_equal(a->tools[0].method, "GET");
    assert_string_equal(a->tools[1].method, "DELETE");
    registry_free(&reg);
}

static void test_errors_headers(void **state)
{
    (void)state;
    const char *yaml = MINIMAL "tools:\n"
                               "  - name: t\n"
                               "    description: d\n"
                               "    url: http://x\n"
                               "    headers:\n"
                               "      X-Ok: plain\n"
                               "      Authorization: {env: TASKS_API_TOKEN}\n";
    expect_error_at(yaml, 9,
                    "header Authorization: environment variable TASKS_API_TOKEN is not set");

    /* A value that would split the header line; the error never quotes it. */
    setenv("TASKS_API_TOKEN", "secret-value\r\nX-Evil: 1", 1);
    agent_registry_t reg;
    char err[ERRLEN];
    assert_int_equal(load(&reg, yaml, err), -1);
    assert_non_null(strstr(err, "line break"));
    assert_null(strstr(err, "secret-value"));

    setenv("TASKS_API_TOKEN", "Bearer t", 1);
    const agent_def_t *a = load_ok(&reg, yaml);
    assert_string_equal(a->tools[0].headers[1].value, "Bearer t");
    registry_free(&reg);

    const char *base = MINIMAL "tools:\n  - name: t\n    description: d\n    url: http://x\n"
                               "    headers:\n";
    char buf[512];
    snprintf(buf, sizeof(buf), "%s      X-Workspace-Id: other\n", base);
    expect_error_at(buf, 8, "header name 'X-Workspace-Id' is not allowed");
    snprintf(buf, sizeof(buf), "%s      Bad Name: x\n", base);
    expect_error_at(buf, 8, "header name 'Bad Name' is not allowed");
    snprintf(buf, sizeof(buf), "%s      A: {value: x}\n", base);
    expect_error_at(buf, 8, "header A: write {env: VARIABLE}");
    snprintf(buf, sizeof(buf), "%s      A: x\n      a: y\n", base);
    expect_error_at(buf, 9, "duplicate header 'a'");
    snprintf(buf, sizeof(buf), "%s      A:\n", base);
    expect_error_at(buf, 8, "header A has no value");
    snprintf(buf, sizeof(buf), "%s      - x\n", base);
    expect_error_at(buf, 8, "headers must be a mapping");
}

static void test_errors_invalid_yaml(void **state)
{
    (void)state;
    expect_error_at("id: a\nmodel: {id: m\nname: x\n", 3,
                    "invalid YAML: did not find expected ','");
    expect_error_at("id: a\n  name: b\n", 2, "invalid YAML: mapping values are not allowed");
    expect_error_at("id: a\nmodel: {id: m}\nname: *nowhere\n", 3, "invalid YAML");
    expect_error_at("id: a\nname: \"open\n", 3, "invalid YAML");
    expect_error_at("id: a\nmodel: {id: m}\nname: x\xff\n", 3, "invalid YAML");
    expect_error_at("id: a\nmodel: {id: m}\n\tname: x\n", 3, "invalid YAML");
}

/* Aliases can name a cyclic or exponentially large tree: bounded, not hung. */
static void test_errors_alias_bombs(void **state)
{
    (void)state;
    expect_error_at(MINIMAL "metadata: &m {self: *m}\n", 3, "nested too deeply");
    char yaml[2048];
    int n = snprintf(yaml, sizeof(yaml), "%s",
                     MINIMAL "metadata:\n  l0: &a0 [x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n,
                      "  l%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    agent_registry_t reg;
    char err[ERRLEN];
    assert_int_equal(load(&reg, yaml, err), -1);
    assert_non_null(strstr(err, "too many nodes"));

    char deep[512] = MINIMAL "metadata:\n  a: ";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "\n");
    expect_error_at(deep, 4, "nested too deeply");
}

/* ---- directories ---- */

/* ---- issue 10: Agno's keys, the system message, retries, model keys ---- */

static void test_agno_keys_not_supported(void **state)
{
    (void)state;
    static const char *const keys[] = {"markdown: true", "debug_mode: true",
                                       "timezone_identifier: UTC", "knowledge: x",
                                       "add_location_to_context: true"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char text[128], what[64];
        snprintf(text, sizeof(text), MINIMAL "%s\n", keys[i]);
        snprintf(what, sizeof(what), "'%.*s' is not supported", (int)strcspn(keys[i], ":"),
                 keys[i]);
        expect_error_at(text, 3, what);
    }
    expect_error_at(MINIMAL "markdown: true\n", 3, "Use markdown to format your answers.");
    expect_error_at(MINIMAL "debug_mode: true\n", 3, "LOG_LEVEL=debug");
    expect_error_at(MINIMAL "markdown: true\n", 3, "docs/agents.md");
    /* Not Agno's either: still a plain unknown key. */
    expect_error_at(MINIMAL "surprise: 1\n", 3, "unknown key 'surprise'");
}

static void test_context_fields(void **state)
{
    (void)state;
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, MINIMAL);
    assert_false(a->add_datetime_to_context);
    assert_null(a->expected_output);
    assert_null(a->additional_context);
    assert_false(a->has_retries);
    registry_free(&reg);

    a = load_ok(&reg, MINIMAL "add_datetime_to_context: true\nexpected_output: A list\n"
                              "additional_context: Extra\nretries: 2\n");
    assert_true(a->add_datetime_to_context);
    assert_string_equal(a->expected_output, "A list");
    assert_string_equal(a->additional_context, "Extra");
    assert_true(a->has_retries);
    assert_int_equal(a->retries, 2);
    registry_free(&reg);

    a = load_ok(&reg, MINIMAL "retries: 0\n");
    assert_true(a->has_retries);
    assert_int_equal(a->retries, 0);
    registry_free(&reg);

    expect_error_at(MINIMAL "retries: 11\n", 3, "retries must be between 0 and 10");
    expect_error_at(MINIMAL "retries: -1\n", 3, "retries must be between 0 and 10");
    expect_error_at(MINIMAL "add_datetime_to_context: yes\n", 3, "must be true or false");
    expect_error_at(MINIMAL "expected_output: [a]\n", 3, "expected_output must be a string");
}

/* 2026-11-30 04:11:05.000123 UTC */
#define NOW_US (1796011865LL * 1000000 + 123)

static void expect_system(const char *yaml, const char *want, long long now_us)
{
    agent_registry_t reg;
    int oom = 1;
    const agent_def_t *a = load_ok(&reg, yaml);
    char *text = registry_system_message(a, now_us, &oom);
    assert_false(oom);
    if (want == NULL)
        assert_null(text);
    else
        assert_string_equal(text, want);
    free(text);
    registry_free(&reg);
}

/* Agno's get_system_message, in its order and wording, stripped. */
static void test_system_message(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    expect_system(MINIMAL, NULL, NOW_US);
    /* Without the new keys the instructions go as they always did. */
    expect_system(MINIMAL "instructions: ['Be brief.', 'Be kind.']\n", "Be brief.\nBe kind.",
                  NOW_US);
    expect_system(MINIMAL "instructions: Be brief.\nadd_datetime_to_context: true\n",
                  "Be brief.\n\n<additional_information>\n"
                  "- The current time is 2026-11-30 04:11:05.000123.\n</additional_information>",
                  NOW_US);
    /* Python's str(datetime) leaves out zero microseconds. */
    expect_system(MINIMAL "add_datetime_to_context: true\n",
                  "<additional_information>\n"
                  "- The current time is 2026-11-30 04:11:05.\n</additional_information>",
                  1796011865LL * 1000000);
    expect_system(MINIMAL "instructions: Be brief.\nexpected_output: '  A list.  '\n"
                          "additional_context: 'Customers: ACME.'\n",
                  "Be brief.\n\n<expected_output>\nA list.\n</expected_output>\n\n"
                  "Customers: ACME.",
                  NOW_US);
    expect_system(MINIMAL "additional_context: Only this.\n", "Only this.", NOW_US);
    expect_system(MINIMAL "add_datetime_to_context: false\n", NULL, NOW_US);
    unsetenv("TZ");
    tzset();
}

static void test_url_is_local(void **state)
{
    (void)state;
    assert_true(registry_url_is_local("http://localhost:11434/v1"));
    assert_true(registry_url_is_local("http://LOCALHOST/v1"));
    assert_true(registry_url_is_local("http://127.0.0.1:8000/v1"));
    assert_true(registry_url_is_local("https://127.1.2.3"));
    assert_true(registry_url_is_local("http://[::1]:8000/v1"));
    assert_true(registry_url_is_local("http://user:pw@localhost:1/v1"));
    assert_false(registry_url_is_local("https://api.openai.com/v1"));
    assert_false(registry_url_is_local("http://localhost.evil.com/v1"));
    assert_false(registry_url_is_local("http://127.0.0.1.nip.io/v1"));
    assert_false(registry_url_is_local("http://ollama:11434/v1"));
    assert_false(registry_url_is_local("http://evil.com/?localhost"));
    assert_false(registry_url_is_local("http://localhost@evil.com/v1"));
    assert_false(registry_url_is_local(NULL));
}

static int key_missing(const char *yaml)
{
    agent_registry_t reg;
    const agent_def_t *a = load_ok(&reg, yaml);
    int missing = a->key_missing;
    registry_free(&reg);
    return missing;
}

/* Issue 10: a missing OPENAI_API_KEY was found at the first run, and an
 * Anthropic agent without its key started silently. */
static void test_key_missing(void **state)
{
    (void)state;
    assert_true(key_missing(MINIMAL));
    assert_true(key_missing("id: a\nmodel: {provider: anthropic, id: claude}\n"));
    assert_true(key_missing("id: a\nmodel: {provider: openrouter, id: x}\n"));
    assert_true(key_missing("id: a\nmodel: {provider: vllm, id: q, base_url: 'http://gpu:8000', "
                            "api_key_env: MY_KEY}\n"));
    /* Local servers, and providers without a key variable, need none. */
    assert_false(key_missing("id: a\nmodel: {provider: ollama, id: llama3}\n"));
    assert_false(
        key_missing("id: a\nmodel: {provider: vllm, id: q, base_url: 'http://gpu:8000'}\n"));
    assert_false(key_missing("id: a\nmodel: {id: m, base_url: 'http://127.0.0.1:9/v1'}\n"));
    assert_false(key_missing("id: a\nmodel: {provider: anthropic, id: c, "
                             "base_url: 'http://localhost:9/v1'}\n"));
    setenv("OPENAI_API_KEY", "sk-test", 1);
    setenv("ANTHROPIC_API_KEY", "ak-test", 1);
    assert_false(key_missing(MINIMAL));
    assert_false(key_missing("id: a\nmodel: {provider: anthropic, id: claude}\n"));
    setenv("OPENAI_API_KEY", "", 1); /* empty is not a key */
    assert_true(key_missing(MINIMAL));
}

static void test_check_keys(void **state)
{
    (void)state;
    agent_registry_t reg;
    char err[ERRLEN] = "";
    load_ok(&reg, "id: claude-agent\nmodel: {provider: anthropic, id: claude}\n");
    assert_int_equal(registry_check_keys(&reg, NULL, err, sizeof(err)), 0);
    assert_int_equal(registry_check_keys(&reg, "false", err, sizeof(err)), 0);
    assert_int_equal(registry_check_keys(&reg, "", err, sizeof(err)), 0);
    assert_int_equal(registry_check_keys(&reg, "true", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "agent claude-agent"));
    assert_non_null(strstr(err, "model key missing: ANTHROPIC_API_KEY is not set"));
    assert_int_equal(registry_check_keys(&reg, "maybe", err, sizeof(err)), -1);
    assert_string_equal(err, "AGENTS_REQUIRE_KEYS must be true or false");
    registry_free(&reg);
    setenv("ANTHROPIC_API_KEY", "ak-test", 1);
    load_ok(&reg, "id: claude-agent\nmodel: {provider: anthropic, id: claude}\n");
    assert_int_equal(registry_check_keys(&reg, "true", err, sizeof(err)), 0);
    registry_free(&reg);
}

static void test_load_dir(void **state)
{
    (void)state;
    char err[ERRLEN];
    agent_registry_t reg;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/agents", tmpdir);
    assert_int_equal(registry_load(&reg, sub, err, sizeof(err)), -1); /* missing */
    assert_non_null(strstr(err, "cannot read the agents directory"));
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(registry_load(&reg, sub, err, sizeof(err)), 0); /* empty: fine */
    assert_int_equal(reg.nagents, 0);
    registry_free(&reg);

    write_file("agents/b.yml", "id: b\nmodel: {id: m}\n");
    write_file("agents/a.yaml", "id: a\nmodel: {id: m}\n");
    write_file("agents/c.yaml", "id: c\nmodel: {id: m}\n");
    write_file("agents/notes.txt", "not yaml: [");
    write_file("agents/.hidden.yaml", "not yaml: [");
    snprintf(err, sizeof(err), "%s/agents/dir.yaml", tmpdir);
    assert_int_equal(mkdir(err, 0700), 0);
    assert_int_equal(registry_load(&reg, sub, err, sizeof(err)), 0);
    assert_int_equal(reg.nagents, 3);
    assert_string_equal(reg.agents[0].id, "a");
    assert_string_equal(reg.agents[1].id, "b");
    assert_string_equal(reg.agents[2].id, "c");
    assert_non_null(strstr(reg.agents[1].file, "/agents/b.yml"));
    registry_free(&reg);

    /* The same id in two files: the later file is named, at the id's line. */
    write_file("agents/d.yaml", "# another\nname: x\nid: b\nmodel: {id: m}\n");
    assert_int_equal(registry_load(&reg, sub, err, sizeof(err)), -1);
    char expect[256];
    snprintf(expect, sizeof(expect),
             "%s/agents/d.yaml:3: duplicate agent id 'b' (also in %s/agents/b.yml)", tmpdir,
             tmpdir);
    assert_string_equal(err, expect);
    assert_int_equal(reg.nagents, 0); /* a failed load leaves nothing behind */
    assert_null(reg.agents);

    write_file("agents/d.yaml", "id: d\nmodel: {id: m, provider: nope}\n");
    assert_int_equal(registry_load(&reg, sub, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/agents/d.yaml:2: unknown model provider 'nope'"));
}

static void test_missing_file(void **state)
{
    (void)state;
    agent_registry_t reg = {0};
    char err[ERRLEN];
    assert_int_equal(registry_load_file(&reg, "/nonexistent/x.yaml", err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/x.yaml: cannot open: No such file or directory");
}

/* The agents the product ships must load, with the documented defaults. */
static void test_shipped_agents(void **state)
{
    (void)state;
    char dir[4096], err[ERRLEN];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash)
        snprintf(slash, sizeof(dir) - (size_t)(slash - dir), "/../../agents/platform");
    else
        snprintf(dir, sizeof(dir), "../../agents/platform");
    agent_registry_t reg;
    if (registry_load(&reg, dir, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(reg.nagents >= 1);
    const agent_def_t *a = registry_find(&reg, "workspace-assistant");
    assert_non_null(a);
    assert_string_equal(a->name, "Workspace Assistant");
    assert_non_null(a->description);
    assert_true(strlen(a->instructions) > 200);
    assert_non_null(strstr(a->instructions, "Never invent data"));
    assert_string_equal(a->provider, "openai");
    assert_string_equal(a->model.id, "gpt-4o-mini");
    assert_string_equal(a->model.base_url, "https://api.openai.com/v1");
    assert_string_equal(a->api_key_env, "OPENAI_API_KEY");
    assert_true(a->add_history_to_context);
    int has_time = 0, has_calc = 0;
    for (size_t i = 0; i < a->ntools; i++) {
        has_time |= !strcmp(a->tools[i].name, "current_time");
        has_calc |= !strcmp(a->tools[i].name, "calculator");
    }
    assert_true(has_time && has_calc);
    registry_free(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provider_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_instructions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_to_json_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_types_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_invalid_yaml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_alias_bombs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agno_keys_not_supported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_is_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_agents, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
