#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "agent/model.h"
#include "agent/run_internal.h"

/* ---- helpers ---- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return v;
}

static void assert_json(json_t *got, const char *expected)
{
    assert_non_null(got);
    json_t *want = J(expected);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static model_config_t cfg_of(const model_provider_t *provider, const char *base, const char *key)
{
    model_config_t c = {0};
    c.provider = provider;
    c.id = provider == &model_provider_anthropic ? "claude-x" : "gpt-x";
    c.base_url = base;
    c.api_key = key;
    return c;
}

/* The headers as one "a\nb\n" string. */
static char *headers_text(struct curl_slist *h)
{
    static char buf[1024];
    buf[0] = '\0';
    for (struct curl_slist *p = h; p; p = p->next) {
        strncat(buf, p->data, sizeof(buf) - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    curl_slist_free_all(h);
    return buf;
}

/* A conversation in the neutral shape with everything the mappers handle. */
static const char *conversation =
    "["
    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"system\",\"content\":\"Use tools.\"},"
    "{\"role\":\"user\",\"content\":\"Time and news?\"},"
    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
    "  {\"id\":\"c1\",\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":\\\"UTC\\\"}\"},"
    "  {\"id\":\"c2\",\"name\":\"search\",\"arguments\":\"{\\\"q\\\":\\\"news\\\"}\"}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"12:00\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"none\"},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
    "  {\"id\":\"c3\",\"name\":\"get_time\",\"arguments\":\"\"}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c3\",\"content\":\"12:01\"},"
    "{\"role\":\"user\",\"content\":\"Thanks\"},"
    "{\"role\":\"user\",\"content\":\"Bye\"}"
    "]";

static const char *tools_json =
    "[{\"name\":\"get_time\",\"description\":\"Current time\","
    "  \"parameters\":{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}}}},"
    " {\"name\":\"search\"}]";

/* ---- names, URLs, headers ---- */

static void test_provider_find(void **state)
{
    (void)state;
    const model_provider_name_t *n = NULL;
    const char *openai_like[] = {"openai",   "OpenAI",     "ollama",
                                 "vllm",     "llamacpp",   "llama.cpp",
                                 "lmstudio", "openrouter", "openai-compatible"};
    for (size_t i = 0; i < sizeof(openai_like) / sizeof(*openai_like); i++) {
        n = NULL;
        assert_ptr_equal(model_provider_find(openai_like[i], &n), &model_provider_openai);
        assert_non_null(n);
        assert_int_equal(strcasecmp(n->yaml, openai_like[i]), 0);
    }
    assert_ptr_equal(model_provider_find("anthropic", &n), &model_provider_anthropic);
    assert_ptr_equal(n, model_provider_own(&model_provider_anthropic));
    assert_ptr_equal(model_provider_find("Anthropic", NULL), &model_provider_anthropic);
    assert_null(model_provider_find("gemini", &n));
    assert_null(model_provider_find("", &n));
    assert_null(model_provider_find(NULL, &n));
    assert_string_equal(model_provider_own(&model_provider_openai)->yaml, "openai");
    assert_string_equal(model_provider_own(&model_provider_anthropic)->yaml, "anthropic");
}

/* The table's order is the metrics counters' slots: OpenAI, Anthropic. */
static void test_provider_table(void **state)
{
    (void)state;
    assert_int_equal(model_provider_count(), 2);
    assert_ptr_equal(model_provider_at(0), &model_provider_openai);
    assert_ptr_equal(model_provider_at(1), &model_provider_anthropic);
    assert_null(model_provider_at(2));
    assert_int_equal(model_provider_index(&model_provider_openai), 0);
    assert_int_equal(model_provider_index(&model_provider_anthropic), 1);
    assert_int_equal(model_provider_index(NULL), -1);
    for (size_t i = 0; i < model_provider_count(); i++) {
        const model_provider_t *p = model_provider_at(i);
        assert_true(p->nnames > 0 && p->url_path[0] == '/');
        assert_non_null(p->body);
        assert_non_null(p->forbid_tools);
        assert_non_null(p->headers);
        assert_non_null(p->on_event);
        assert_true(p->caps & MODEL_CAP_TOOLS);
        for (size_t j = 0; j < p->nnames; j++) /* each name finds its own entry */
            assert_ptr_equal(model_provider_find(p->names[j].yaml, NULL), p);
    }
    assert_true(model_provider_anthropic.caps & MODEL_CAP_MAX_TOKENS);
    assert_false(model_provider_openai.caps & MODEL_CAP_MAX_TOKENS);
    char list[256];
    model_provider_list(list, sizeof(list));
    assert_string_equal(list, "openai, openai-compatible, ollama, vllm, llamacpp, llama.cpp, "
                              "lmstudio, openrouter, anthropic");
    model_provider_list(list, 10); /* cut to fit, still a string */
    assert_string_equal(list, "openai, o");
}

/* Agno's spellings, once for every layer (run events, views, agents). */
static void test_provider_agno_names(void **state)
{
    (void)state;
    static const char *const want[][4] = {
        /* yaml, Model.provider, model class, ModelMetrics.provider */
        {"openai", "OpenAI", "OpenAIChat", "OpenAI Chat"},
        {"anthropic", "Anthropic", "Claude", "Anthropic"},
        {"ollama", "Ollama", "Ollama", "Ollama"},
        {"vllm", "VLLM", "VLLM", "VLLM"},
        {"openrouter", "OpenRouter", "OpenRouter", "OpenRouter"},
        {"lmstudio", "LMStudio", "LMStudio", "LMStudio"},
        {"llamacpp", "LlamaCpp", "LlamaCpp", "LlamaCpp"},
        {"llama.cpp", "LlamaCpp", "LlamaCpp", "LlamaCpp"},
        {"openai-compatible", "OpenAI", "OpenAILike", "OpenAI"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(model_provider_agno_name(want[i][0]), want[i][1]);
        assert_string_equal(model_provider_agno_class(want[i][0]), want[i][2]);
        assert_string_equal(model_provider_metrics_name(want[i][0]), want[i][3]);
    }
    assert_string_equal(model_provider_agno_name("gemini"), "gemini"); /* as written */
    assert_string_equal(model_provider_agno_class("gemini"), "OpenAILike");
    assert_string_equal(model_provider_metrics_name("gemini"), "gemini");
    assert_null(model_provider_agno_name(NULL));
}

/* The defaults the registry fills from the table. */
static void test_provider_defaults(void **state)
{
    (void)state;
    const model_provider_name_t *n = NULL;
    assert_non_null(model_provider_find("openai", &n));
    assert_string_equal(n->base_url, "https://api.openai.com/v1");
    assert_string_equal(n->base_url_env, "OPENAI_BASE_URL");
    assert_string_equal(n->key_env, "OPENAI_API_KEY");
    assert_non_null(model_provider_find("anthropic", &n));
    assert_string_equal(n->base_url, "https://api.anthropic.com/v1");
    assert_string_equal(n->key_env, "ANTHROPIC_API_KEY");
    assert_non_null(model_provider_find("ollama", &n));
    assert_string_equal(n->base_url, "http://localhost:11434/v1");
    assert_null(n->key_env); /* a local server gets no key unless the YAML names one */
    assert_null(n->base_url_env);
    assert_non_null(model_provider_find("openrouter", &n));
    assert_string_equal(n->key_env, "OPENROUTER_API_KEY");
}

static void test_key_check(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_openai, NULL, "sk-ok\r\n");
    assert_int_equal(model_request_key_check(&c), 0);
    c.api_key = NULL;
    assert_int_equal(model_request_key_check(&c), 0);
    c.api_key = "sk-a\x01b";
    assert_int_equal(model_request_key_check(&c), -1);
    assert_null(model_request_headers(&c));
    c.api_key = "sk-a\nX-Evil: 1";
    assert_int_equal(model_request_key_check(&c), -1);
    /* A zeroed config is OpenAI's. */
    model_config_t z = {0};
    assert_ptr_equal(model_config_provider(&z), &model_provider_openai);
}

static void check_url(const model_provider_t *provider, const char *base, const char *want)
{
    model_config_t c = cfg_of(provider, base, NULL);
    char *url = model_request_url(&c);
    assert_non_null(url);
    assert_string_equal(url, want);
    free(url);
}

static void test_url_joining(void **state)
{
    (void)state;
    check_url(&model_provider_openai, "http://localhost:11434/v1",
              "http://localhost:11434/v1/chat/completions");
    check_url(&model_provider_openai, "http://localhost:11434/v1/",
              "http://localhost:11434/v1/chat/completions");
    check_url(&model_provider_openai, "http://h/v1//", "http://h/v1/chat/completions");
    check_url(&model_provider_openai, NULL, "https://api.openai.com/v1/chat/completions");
    check_url(&model_provider_openai, "", "https://api.openai.com/v1/chat/completions");
    check_url(&model_provider_anthropic, "https://api.anthropic.com/v1/",
              "https://api.anthropic.com/v1/messages");
    check_url(&model_provider_anthropic, NULL, "https://api.anthropic.com/v1/messages");
}

static void test_headers(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_openai, NULL, "sk-test");
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "Content-Type: application/json\nAccept: text/event-stream\n"
                        "Authorization: Bearer sk-test\n");
    c.api_key = NULL;
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "Content-Type: application/json\nAccept: text/event-stream\n");
    c.api_key = "";
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "Content-Type: application/json\nAccept: text/event-stream\n");
    c.api_key = " sk-crlf\r\n"; /* from a .env saved with CRLF */
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "Content-Type: application/json\nAccept: text/event-stream\n"
                        "Authorization: Bearer sk-crlf\n");
    c.api_key = "sk-a\r\nX-Evil: 1"; /* never a second header */
    assert_null(model_request_headers(&c));

    c = cfg_of(&model_provider_anthropic, NULL, "ak-test");
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "content-type: application/json\naccept: text/event-stream\n"
                        "anthropic-version: 2023-06-01\nx-api-key: ak-test\n");
    c.api_key = NULL;
    assert_string_equal(headers_text(model_request_headers(&c)),
                        "content-type: application/json\naccept: text/event-stream\n"
                        "anthropic-version: 2023-06-01\n");
}

/* ---- request bodies ---- */

static void test_openai_body_full(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_openai, NULL, NULL);
    c.has_temperature = 1;
    c.temperature = 0.25;
    c.max_tokens = 100;
    json_t *msgs = J(conversation), *tools = J(tools_json);
    json_t *body = model_request_body(&c, msgs, tools);
    assert_json(body,
                "{\"model\":\"gpt-x\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                "\"temperature\":0.25,\"max_tokens\":100,"
                "\"messages\":["
                "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                "{\"role\":\"system\",\"content\":\"Use tools.\"},"
                "{\"role\":\"user\",\"content\":\"Time and news?\"},"
                "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
                " {\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
                "  \"arguments\":\"{\\\"tz\\\":\\\"UTC\\\"}\"}},"
                " {\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"search\","
                "  \"arguments\":\"{\\\"q\\\":\\\"news\\\"}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"12:00\"},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"none\"},"
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                " {\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
                "  \"arguments\":\"{}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c3\",\"content\":\"12:01\"},"
                "{\"role\":\"user\",\"content\":\"Thanks\"},"
                "{\"role\":\"user\",\"content\":\"Bye\"}],"
                "\"tools\":["
                " {\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"description\":"
                "  \"Current time\",\"parameters\":{\"type\":\"object\",\"properties\":{\"tz\":"
                "  {\"type\":\"string\"}}}}},"
                " {\"type\":\"function\",\"function\":{\"name\":\"search\",\"parameters\":"
                "  {\"type\":\"object\",\"properties\":{}}}}]}");
    json_decref(body);
    json_decref(msgs);
    json_decref(tools);
}

static void test_openai_body_minimal(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_openai, NULL, NULL);
    json_t *msgs = J("[{\"role\":\"user\",\"content\":\"hi\"}]"), *none = J("[]");
    const char *want = "{\"model\":\"gpt-x\",\"stream\":true,"
                       "\"stream_options\":{\"include_usage\":true},"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    json_t *body = model_request_body(&c, msgs, NULL);
    assert_json(body, want);
    json_decref(body);
    body = model_request_body(&c, msgs, none);
    assert_json(body, want);
    json_decref(body);
    json_decref(msgs);
    json_decref(none);
}

static void test_forbid_tools(void **state)
{
    (void)state;
    json_t *msgs = J("[{\"role\":\"user\",\"content\":\"hi\"}]"), *tools = J(tools_json);
    model_config_t c = cfg_of(&model_provider_openai, NULL, NULL);
    json_t *body = model_request_body(&c, msgs, tools);
    model_request_forbid_tools(&c, body);
    assert_string_equal(json_string_value(json_object_get(body, "tool_choice")), "none");
    assert_int_equal(json_array_size(json_object_get(body, "tools")), 2);
    json_decref(body);
    c = cfg_of(&model_provider_anthropic, NULL, NULL);
    body = model_request_body(&c, msgs, tools);
    model_request_forbid_tools(&c, body);
    json_t *choice = json_object_get(body, "tool_choice");
    assert_string_equal(json_string_value(json_object_get(choice, "type")), "none");
    assert_int_equal(json_array_size(json_object_get(body, "tools")), 2);
    json_decref(body);
    json_decref(msgs);
    json_decref(tools);
}

static void test_anthropic_body_full(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_anthropic, NULL, NULL);
    c.has_temperature = 1;
    c.temperature = 0.5;
    json_t *msgs = J(conversation), *tools = J(tools_json);
    json_t *body = model_request_body(&c, msgs, tools);
    assert_json(
        body,
        "{\"model\":\"claude-x\",\"max_tokens\":4096,\"stream\":true,\"temperature\":0.5,"
        "\"system\":\"Be brief.\\n\\nUse tools.\","
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Time and news?\"}]},"
        "{\"role\":\"assistant\",\"content\":["
        " {\"type\":\"text\",\"text\":\"Checking.\"},"
        " {\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"get_time\",\"input\":{\"tz\":\"UTC\"}},"
        " {\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"search\",\"input\":{\"q\":\"news\"}}]},"
        "{\"role\":\"user\",\"content\":["
        " {\"type\":\"tool_result\",\"tool_use_id\":\"c1\",\"content\":\"12:00\"},"
        " {\"type\":\"tool_result\",\"tool_use_id\":\"c2\",\"content\":\"none\"}]},"
        "{\"role\":\"assistant\",\"content\":["
        " {\"type\":\"tool_use\",\"id\":\"c3\",\"name\":\"get_time\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":["
        " {\"type\":\"tool_result\",\"tool_use_id\":\"c3\",\"content\":\"12:01\"},"
        " {\"type\":\"text\",\"text\":\"Thanks\"},"
        " {\"type\":\"text\",\"text\":\"Bye\"}]}],"
        "\"tools\":["
        " {\"name\":\"get_time\",\"description\":\"Current time\",\"input_schema\":"
        "  {\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}}}},"
        " {\"name\":\"search\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]}");
    json_decref(body);
    json_decref(msgs);
    json_decref(tools);
}

static void test_anthropic_body_minimal(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_anthropic, NULL, NULL);
    c.max_tokens = 50;
    json_t *msgs = J("[{\"role\":\"user\",\"content\":\"hi\"}]");
    json_t *body = model_request_body(&c, msgs, NULL);
    assert_json(body, "{\"model\":\"claude-x\",\"max_tokens\":50,\"stream\":true,"
                      "\"messages\":[{\"role\":\"user\",\"content\":"
                      "[{\"type\":\"text\",\"text\":\"hi\"}]}]}");
    json_decref(body);
    json_decref(msgs);
}

static void test_body_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {
        "[{\"role\":\"wizard\",\"content\":\"x\"}]",
        "[{\"content\":\"x\"}]",
        "[{\"role\":\"tool\",\"content\":\"x\"}]",
        "[{\"role\":\"assistant\",\"tool_calls\":[{\"name\":\"f\"}]}]",
    };
    for (int k = 0; k < 2; k++) {
        model_config_t c =
            cfg_of(k ? &model_provider_anthropic : &model_provider_openai, NULL, NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
            json_t *msgs = J(bad[i]);
            assert_null(model_request_body(&c, msgs, NULL));
            json_decref(msgs);
        }
        json_t *obj = J("{}");
        assert_null(model_request_body(&c, obj, NULL));
        json_decref(obj);
        c.id = NULL;
        json_t *empty = J("[]");
        assert_null(model_request_body(&c, empty, NULL));
        json_decref(empty);
    }
}

/* ---- streams ---- */

typedef struct texts {
    char buf[4096];
    size_t len;
} texts_t;

static void on_text(void *ud, const char *text, size_t len)
{
    texts_t *t = ud;
    assert_true(len > 0);
    assert_true(t->len + len < sizeof(t->buf));
    memcpy(t->buf + t->len, text, len);
    t->len += len;
    t->buf[t->len] = '\0';
}

enum { SPLIT_WHOLE, SPLIT_LINES, SPLIT_BYTES };

/* Feeds the stream in the given granularity; returns finish's result. */
static int run_stream(const model_provider_t *provider, const char *s, int split,
                      model_result_t *out, texts_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    model_events_t ev = {on_text, t};
    model_stream_t *st = model_stream_new(provider, &ev, 64 * 1024);
    assert_non_null(st);
    assert_int_equal(model_stream_bytes(st), 0);
    size_t len = strlen(s), at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        size_t n = len - at;
        if (split == SPLIT_BYTES)
            n = 1;
        else if (split == SPLIT_LINES && strchr(s + at, '\n'))
            n = (size_t)(strchr(s + at, '\n') - (s + at)) + 1;
        rc = model_stream_feed(st, s + at, n);
        at += n;
    }
    if (rc == 0) {
        assert_int_equal(model_stream_bytes(st), len);
        rc = model_stream_finish(st, out);
    } else {
        memset(out, 0, sizeof(*out));
    }
    if (err)
        snprintf(err, errlen, "%s", model_stream_error(st) ? model_stream_error(st) : "");
    model_stream_free(st);
    return rc;
}

static void assert_call(const model_tool_call_t *c, const char *id, const char *name,
                        const char *args)
{
    assert_string_equal(c->id, id);
    assert_string_equal(c->name, name);
    assert_string_equal(c->arguments, args);
}

static const char *openai_stream =
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me \"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"check \\u00fc.\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
    "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"tz\\\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
    "\"type\":\"function\",\"function\":{\"name\":\"search\",\"arguments\":\"{\\\"q\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\":\\\"UTC\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"function\":{\"arguments\":\"\\\":\\\"a\\\\nb\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"function\":{\"arguments\":\"\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,"
    "\"total_tokens\":46}}\n\n"
    "data: [DONE]\n\n";

static void test_openai_stream_every_split(void **state)
{
    (void)state;
    for (int split = SPLIT_WHOLE; split <= SPLIT_BYTES; split++) {
        model_result_t r;
        texts_t t;
        assert_int_equal(run_stream(&model_provider_openai, openai_stream, split, &r, &t, NULL, 0),
                         0);
        assert_string_equal(r.content, "Let me check \xC3\xBC.");
        assert_string_equal(t.buf, r.content);
        assert_int_equal(r.ntool_calls, 2);
        assert_call(&r.tool_calls[0], "call_a", "get_time", "{\"tz\":\"UTC\"}");
        assert_call(&r.tool_calls[1], "call_b", "search", "{\"q\":\"a\\nb\"}");
        assert_int_equal(r.input_tokens, 12);
        assert_int_equal(r.output_tokens, 34);
        assert_string_equal(r.stop_reason, "tool_calls");
        model_result_free(&r);
        assert_null(r.content);
    }
}

/* Every single cut point through the OpenAI stream gives the same result. */
static void test_openai_stream_every_cut(void **state)
{
    (void)state;
    size_t len = strlen(openai_stream);
    for (size_t cut = 0; cut <= len; cut++) {
        texts_t t = {0};
        model_events_t ev = {on_text, &t};
        model_stream_t *st = model_stream_new(&model_provider_openai, &ev, 4096);
        assert_int_equal(model_stream_feed(st, openai_stream, cut), 0);
        assert_int_equal(model_stream_feed(st, openai_stream + cut, len - cut), 0);
        model_result_t r;
        assert_int_equal(model_stream_finish(st, &r), 0);
        assert_string_equal(r.content, "Let me check \xC3\xBC.");
        assert_int_equal(r.ntool_calls, 2);
        assert_string_equal(r.tool_calls[1].arguments, "{\"q\":\"a\\nb\"}");
        model_result_free(&r);
        model_stream_free(st);
    }
}

static const char *anthropic_stream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,"
    "\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Checking\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" both.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_time\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"tz\\\": \\\"UT\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"C\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_2\",\"name\":\"search\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"q\\\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\": \\\"x\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void test_anthropic_stream_every_split(void **state)
{
    (void)state;
    for (int split = SPLIT_WHOLE; split <= SPLIT_BYTES; split++) {
        model_result_t r;
        texts_t t;
        assert_int_equal(
            run_stream(&model_provider_anthropic, anthropic_stream, split, &r, &t, NULL, 0), 0);
        assert_string_equal(r.content, "Checking both.");
        assert_string_equal(t.buf, r.content);
        assert_int_equal(r.ntool_calls, 2);
        assert_call(&r.tool_calls[0], "toolu_1", "get_time", "{\"tz\": \"UTC\"}");
        assert_call(&r.tool_calls[1], "toolu_2", "search", "{\"q\": \"x\"}");
        assert_int_equal(r.input_tokens, 30); /* cached tokens count as input */
        assert_int_equal(r.output_tokens, 89);
        assert_string_equal(r.stop_reason, "tool_calls");
        model_result_free(&r);
    }
}

static void test_anthropic_stream_every_cut(void **state)
{
    (void)state;
    size_t len = strlen(anthropic_stream);
    for (size_t cut = 0; cut <= len; cut += 1) {
        model_stream_t *st = model_stream_new(&model_provider_anthropic, NULL, 4096);
        assert_int_equal(model_stream_feed(st, anthropic_stream, cut), 0);
        assert_int_equal(model_stream_feed(st, anthropic_stream + cut, len - cut), 0);
        model_result_t r;
        assert_int_equal(model_stream_finish(st, &r), 0);
        assert_string_equal(r.content, "Checking both.");
        assert_int_equal(r.ntool_calls, 2);
        assert_string_equal(r.tool_calls[0].arguments, "{\"tz\": \"UTC\"}");
        model_result_free(&r);
        model_stream_free(st);
    }
}

static void check_stop(const model_provider_t *provider, const char *stream, const char *want)
{
    model_result_t r;
    texts_t t;
    assert_int_equal(run_stream(provider, stream, SPLIT_WHOLE, &r, &t, NULL, 0), 0);
    assert_string_equal(r.stop_reason, want);
    model_result_free(&r);
}

static void test_stop_reasons(void **state)
{
    (void)state;
#define STOP_REASON_FMT                                                                            \
    "event: message_delta\ndata: {\"type\":\"message_delta\","                                     \
    "\"delta\":{\"stop_reason\":\"%s\"},\"usage\":{\"output_tokens\":3}}\n\n"                      \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    const char *pairs[][2] = {{"end_turn", "stop"},
                              {"stop_sequence", "stop"},
                              {"max_tokens", "length"},
                              {"tool_use", "tool_calls"},
                              {"refusal", "refusal"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
        char s[512];
        snprintf(s, sizeof(s), STOP_REASON_FMT, pairs[i][0]);
        check_stop(&model_provider_anthropic, s, pairs[i][1]);
    }
#undef STOP_REASON_FMT
    /* A server that says "stop" while calling tools, without [DONE]. */
    check_stop(&model_provider_openai,
               "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\","
               "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
               "\"finish_reason\":\"stop\"}]}\n\n",
               "tool_calls");
    check_stop(&model_provider_openai,
               "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"length\"}]}"
               "\n\ndata: [DONE]\n\n",
               "length");
}

static void test_openai_whole_calls_without_index(void **state)
{
    (void)state;
    /* Some compatible servers send each call whole, with no index and no id. */
    const char *s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":["
                    "{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}},"
                    "{\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n"
                    "data: {\"choices\":[{\"delta\":{\"tool_calls\":["
                    "{\"index\":5,\"function\":{\"name\":\"h\"}}]}}]}\n\n"
                    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
                    "data: [DONE]\n\n";
    model_result_t r;
    texts_t t;
    assert_int_equal(run_stream(&model_provider_openai, s, SPLIT_WHOLE, &r, &t, NULL, 0), 0);
    assert_int_equal(r.ntool_calls, 3);
    assert_call(&r.tool_calls[0], "a", "f", "{\"x\":1}");
    assert_call(&r.tool_calls[1], "b", "g", "{}");
    assert_call(&r.tool_calls[2], "call_5", "h", "{}");
    assert_string_equal(r.content, "");
    assert_int_equal(r.input_tokens, 0);
    model_result_free(&r);
}

static void expect_stream_error(const model_provider_t *provider, const char *s, const char *want)
{
    for (int split = SPLIT_WHOLE; split <= SPLIT_BYTES; split++) {
        model_result_t r;
        texts_t t;
        char err[512];
        assert_int_equal(run_stream(provider, s, split, &r, &t, err, sizeof(err)), -1);
        if (!strstr(err, want))
            fail_msg("error \"%s\" does not contain \"%s\"", err, want);
        assert_null(r.content);
        assert_null(r.tool_calls);
        model_result_free(&r);
    }
}

static void test_stream_errors(void **state)
{
    (void)state;
    expect_stream_error(&model_provider_openai,
                        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
                        "data: {\"error\":{\"message\":\"The server had an error\","
                        "\"type\":\"server_error\"}}\n\n",
                        "The server had an error (server_error)");
    expect_stream_error(&model_provider_openai, "event: error\ndata: upstream went away\n\n",
                        "upstream went away");
    expect_stream_error(&model_provider_openai, "data: {not json\n\n", "malformed");
    expect_stream_error(&model_provider_anthropic,
                        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
                        "{\"usage\":{\"input_tokens\":3}}}\n\n"
                        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                        "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
                        "Overloaded (overloaded_error)");
    expect_stream_error(&model_provider_anthropic, "event: content_block_start\ndata: [1,2\n\n",
                        "malformed");
}

static void test_stream_ended_early(void **state)
{
    (void)state;
    expect_stream_error(&model_provider_openai, "", "ended early");
    expect_stream_error(&model_provider_openai,
                        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
                        "data: {\"choices\":[{\"delta\":{\"content\":\"the\"}}]}\n",
                        "ended early");
    expect_stream_error(&model_provider_anthropic,
                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                        "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
                        "ended early");
}

static void test_stream_bounds(void **state)
{
    (void)state;
    /* One event over max_event_bytes. */
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 64);
    char big[256];
    snprintf(big, sizeof(big), "data: {\"choices\":[{\"delta\":{\"content\":\"%0100d\"}}]}\n\n", 0);
    assert_int_equal(model_stream_feed(st, big, strlen(big)), -1);
    assert_non_null(strstr(model_stream_error(st), "too large"));
    assert_int_equal(model_stream_feed(st, "data: [DONE]\n\n", 14), -1);
    model_result_t r;
    assert_int_equal(model_stream_finish(st, &r), -1);
    assert_null(r.content);
    model_stream_free(st);

    /* Many events within the bound that add up to more than the reply's. */
    size_t n = 512 * 1024;
    char *ev = malloc(n + 128);
    int off = snprintf(ev, 128, "data: {\"choices\":[{\"delta\":{\"content\":\"");
    memset(ev + off, 'a', n);
    strcpy(ev + off + n, "\"}}]}\n\n");
    st = model_stream_new(&model_provider_openai, NULL, n + 128);
    int rc = 0, i;
    for (i = 0; i < 16 && rc == 0; i++)
        rc = model_stream_feed(st, ev, strlen(ev));
    assert_int_equal(rc, -1);
    assert_int_equal(i, 9); /* 8 x 512 KiB = 4 MiB fits, one more does not */
    assert_non_null(strstr(model_stream_error(st), "too large"));
    model_stream_free(st);

    /* The same for tool arguments, which are bounded on their own first. */
    off = snprintf(ev, 128,
                   "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
                   "\"function\":{\"arguments\":\"");
    memset(ev + off, 'a', n);
    strcpy(ev + off + n, "\"}}]}}]}\n\n");
    st = model_stream_new(&model_provider_openai, NULL, n + 128);
    for (i = 0, rc = 0; i < 16 && rc == 0; i++)
        rc = model_stream_feed(st, ev, strlen(ev));
    assert_int_equal(rc, -1);
    assert_int_equal(i, 1);
    assert_non_null(strstr(model_stream_error(st), "arguments longer than 262144 bytes"));
    model_stream_free(st);
    free(ev);

    /* Tool calls without end. */
    st = model_stream_new(&model_provider_openai, NULL, 1024);
    for (i = 0, rc = 0; i < 1000 && rc == 0; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":%d,\"id\":\"c\","
                 "\"function\":{\"name\":\"f\"}}]}}]}\n\n",
                 i);
        rc = model_stream_feed(st, line, strlen(line));
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(model_stream_error(st), "too many tool calls"));
    model_stream_free(st);
}

/* An OpenAI tool-call delta naming a tool of n bytes ('n' repeated). */
static char *openai_named_call(size_t n, const char *id)
{
    size_t head = strlen(id) + 256;
    char *ev = malloc(n + head);
    int off = snprintf(ev, head,
                       "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"%s\","
                       "\"function\":{\"name\":\"",
                       id);
    memset(ev + off, 'n', n);
    strcpy(ev + off + n, "\",\"arguments\":\"{}\"}}]}}]}\n\n");
    return ev;
}

static void expect_tool_stream(const model_provider_t *provider, const char *ev, const char *error)
{
    model_stream_t *st = model_stream_new(provider, NULL, 1 << 20);
    int rc = model_stream_feed(st, ev, strlen(ev));
    if (error == NULL) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -1);
        assert_non_null(model_stream_error(st));
        if (!strstr(model_stream_error(st), error))
            fail_msg("error '%s' does not say '%s'", model_stream_error(st), error);
    }
    model_stream_free(st);
}

/* Tool names, ids and arguments are the model's untrusted input: each is
 * bounded where it is decoded (a 512 KiB name would make events no client
 * stream takes). */
static void test_stream_tool_call_bounds(void **state)
{
    (void)state;
    char *ev = openai_named_call(256, "c1");
    expect_tool_stream(&model_provider_openai, ev, NULL);
    free(ev);
    ev = openai_named_call(257, "c1");
    expect_tool_stream(&model_provider_openai, ev, "tool call name longer than 256 bytes");
    free(ev);
    ev = openai_named_call(512 * 1024, "c1");
    expect_tool_stream(&model_provider_openai, ev, "tool call name longer than 256 bytes");
    free(ev);

    char id[300];
    memset(id, 'i', 257);
    id[257] = '\0';
    ev = openai_named_call(4, id);
    expect_tool_stream(&model_provider_openai, ev, "tool call id longer than 256 bytes");
    free(ev);

    size_t n = 512 * 1024;
    char *an = malloc(n + 256);
    int off = snprintf(an, 256,
                       "event: content_block_start\ndata: {\"type\":\"content_block_start\","
                       "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
                       "\"name\":\"");
    memset(an + off, 'n', n);
    strcpy(an + off + n, "\",\"input\":{}}}\n\n");
    expect_tool_stream(&model_provider_anthropic, an, "tool call name longer than 256 bytes");
    free(an);

    /* Arguments in many deltas add up against their own bound. */
    model_stream_t *st = model_stream_new(&model_provider_anthropic, NULL, 1 << 20);
    const char *start = "event: content_block_start\ndata: {\"type\":\"content_block_start\","
                        "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
                        "\"name\":\"f\",\"input\":{}}}\n\n";
    assert_int_equal(model_stream_feed(st, start, strlen(start)), 0);
    char *delta = malloc(64 * 1024 + 256);
    off = snprintf(delta, 256,
                   "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                   "\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
    memset(delta + off, 'a', 64 * 1024);
    strcpy(delta + off + 64 * 1024, "\"}}\n\n");
    int rc = 0, i;
    for (i = 0; i < 8 && rc == 0; i++)
        rc = model_stream_feed(st, delta, strlen(delta));
    assert_int_equal(rc, -1);
    assert_int_equal(i, 5); /* 4 x 64 KiB = 256 KiB fits, one more does not */
    assert_non_null(strstr(model_stream_error(st), "arguments longer than 262144 bytes"));
    model_stream_free(st);
    free(delta);
}

/* MODEL_MAX_REPLY_BYTES comes from the configuration, not a macro. */
static void test_stream_reply_bound_is_set(void **state)
{
    (void)state;
    const char *ev = "data: {\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}\n\n";
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 0);
    model_stream_set_max_reply(st, 25);
    assert_int_equal(model_stream_feed(st, ev, strlen(ev)), 0);
    assert_int_equal(model_stream_feed(st, ev, strlen(ev)), 0);
    assert_int_equal(model_stream_feed(st, ev, strlen(ev)), -1);
    assert_non_null(strstr(model_stream_error(st), "too large"));
    model_stream_free(st);

    st = model_stream_new(&model_provider_openai, NULL, 0);
    model_stream_set_max_reply(st, 0); /* 0 keeps the default (4 MiB) */
    for (int i = 0; i < 100; i++)
        assert_int_equal(model_stream_feed(st, ev, strlen(ev)), 0);
    model_stream_free(st);
}

/* What the stall watchdog counts: text and tool-call bytes only. */
static void test_stream_progress(void **state)
{
    (void)state;
    static const char *const idle[] = {
        ": keep-alive\n\n",
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n",
    };
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 0);
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
            assert_int_equal(model_stream_feed(st, idle[i], strlen(idle[i])), 0);
    assert_true(model_stream_bytes(st) > 1000);
    assert_int_equal(model_stream_progress(st), 0);
    const char *text = "data: {\"choices\":[{\"delta\":{\"content\":\"ab\"}}]}\n\n";
    assert_int_equal(model_stream_feed(st, text, strlen(text)), 0);
    assert_int_equal(model_stream_progress(st), 2);
    const char *call = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\","
                       "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n";
    assert_int_equal(model_stream_feed(st, call, strlen(call)), 0);
    assert_int_equal(model_stream_progress(st), 2 + 1 + 1 + 2);
    /* The end counts once; the same end again and again does not. */
    const char *stop = "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    for (int i = 0; i < 10; i++)
        assert_int_equal(model_stream_feed(st, stop, strlen(stop)), 0);
    assert_int_equal(model_stream_progress(st), 2 + 1 + 1 + 2 + 1);
    model_stream_free(st);

    st = model_stream_new(&model_provider_anthropic, NULL, 0);
    const char *ping = "event: ping\ndata: {\"type\":\"ping\"}\n\n";
    const char *empty = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                        "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}\n\n";
    for (int i = 0; i < 20; i++) {
        assert_int_equal(model_stream_feed(st, ping, strlen(ping)), 0);
        assert_int_equal(model_stream_feed(st, empty, strlen(empty)), 0);
    }
    assert_int_equal(model_stream_progress(st), 0);
    /* Thinking is not kept, but it is progress. */
    const char *thinking =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}"
        "\n\n";
    assert_int_equal(model_stream_feed(st, thinking, strlen(thinking)), 0);
    assert_int_equal(model_stream_progress(st), 3);
    model_stream_free(st);

    st = model_stream_new(&model_provider_openai, NULL, 0);
    const char *reasoning = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n";
    assert_int_equal(model_stream_feed(st, reasoning, strlen(reasoning)), 0);
    assert_int_equal(model_stream_progress(st), 2);
    model_stream_free(st);
}

static void test_finish_twice_and_nameless_call(void **state)
{
    (void)state;
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 0);
    const char *s = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":"
                    "\"stop\"}]}\n\ndata: [DONE]\n\ndata: {\"error\":{\"message\":\"late\"}}\n\n";
    assert_int_equal(model_stream_feed(st, s, strlen(s)), 0);
    model_result_t r;
    assert_int_equal(model_stream_finish(st, &r), 0);
    assert_null(model_stream_error(st));
    assert_string_equal(r.content, "ok");
    assert_string_equal(r.stop_reason, "stop");
    assert_int_equal(r.ntool_calls, 0);
    model_result_free(&r);
    assert_int_equal(model_stream_finish(st, &r), -1);
    model_stream_free(st);

    expect_stream_error(&model_provider_openai,
                        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
                        "\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":"
                        "\"tool_calls\"}]}\n\n",
                        "without a name");
}

/* ---- error messages ---- */

static void check_error(const model_provider_t *provider, const char *key, long status,
                        const char *body, const char *want)
{
    model_config_t c = cfg_of(provider, NULL, key);
    char *msg = model_error_message(&c, status, body, body ? strlen(body) : 0);
    assert_non_null(msg);
    if (strcmp(msg, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", msg, want);
    free(msg);
}

static void test_error_messages(void **state)
{
    (void)state;
    check_error(&model_provider_openai, NULL, 429,
                "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
                "\"code\":\"rate_limit_exceeded\"}}",
                "Rate limit reached (requests)");
    check_error(&model_provider_anthropic, NULL, 529,
                "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                "\"message\":\"Overloaded\"}}",
                "Overloaded (overloaded_error)");
    check_error(&model_provider_openai, NULL, 404, "{\"error\":\"model 'llama9' not found\"}",
                "model 'llama9' not found");
    check_error(&model_provider_openai, NULL, 400, "{\"detail\":\"bad\\nrequest\"}", "bad request");
    check_error(&model_provider_openai, NULL, 502,
                "\r\n<html>\r\n<head>502 Bad Gateway</head></html>", "HTTP 502: <html>");
    check_error(&model_provider_openai, NULL, 500, "", "HTTP 500");
    check_error(&model_provider_openai, NULL, 500, NULL, "HTTP 500");
    check_error(&model_provider_openai, NULL, 0, NULL, "no answer from the model provider");
    check_error(&model_provider_openai, NULL, 503, "bad \xff\xfe bytes\x01!",
                "HTTP 503: bad ?? bytes !");
    /* The key never comes back, even when the provider repeats it. */
    check_error(&model_provider_openai, "sk-secret-123", 401,
                "{\"error\":{\"message\":\"Incorrect API key provided: sk-secret-123.\"}}",
                "Incorrect API key provided: [redacted].");
    check_error(&model_provider_anthropic, "sk-secret-123", 401, "key sk-secret-123 is bad",
                "HTTP 401: key [redacted] is bad");
    check_error(&model_provider_openai, " sk-secret-123\r\n", 401, "sk-secret-123 sk-secret-123",
                "HTTP 401: [redacted] [redacted]");
    check_error(&model_provider_openai, NULL, 400, "{\"unexpected\":1}",
                "HTTP 400: {\"unexpected\":1}");
}

static void test_error_message_capped(void **state)
{
    (void)state;
    model_config_t c = cfg_of(&model_provider_openai, NULL, NULL);
    size_t n = 100000;
    char *body = malloc(n + 1);
    /* Multibyte characters, so a cut in the middle of one would show. */
    for (size_t i = 0; i + 2 <= n; i += 2)
        memcpy(body + i, "\xC3\xA9", 2);
    body[n] = '\0';
    char *msg = model_error_message(&c, 500, body, n);
    assert_true(strlen(msg) <= 400);
    assert_non_null(strstr(msg, "..."));
    json_t *s = json_string(msg); /* valid UTF-8 or jansson refuses it */
    assert_non_null(s);
    json_decref(s);
    free(msg);
    char *json_body = malloc(n + 64);
    int off = snprintf(json_body, 64, "{\"error\":{\"message\":\"");
    memset(json_body + off, 'x', n);
    strcpy(json_body + off + n, "\"}}");
    msg = model_error_message(&c, 400, json_body, strlen(json_body));
    assert_true(strlen(msg) <= 400);
    free(msg);
    free(json_body);
    free(body);
}

/* The reply's id (Agno's model_provider_data.id): the first one named. */
static void test_stream_response_id(void **state)
{
    (void)state;
    model_stream_t *st = model_stream_new(&model_provider_openai, NULL, 4096);
    assert_null(model_stream_response_id(st));
    const char *oa =
        "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
        "data: {\"id\":\"chatcmpl-2\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n";
    assert_int_equal(model_stream_feed(st, oa, strlen(oa)), 0);
    assert_string_equal(model_stream_response_id(st), "chatcmpl-1");
    model_stream_free(st);
    st = model_stream_new(&model_provider_anthropic, NULL, 4096);
    const char *an = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
                     "{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3}}}\n\n";
    assert_int_equal(model_stream_feed(st, an, strlen(an)), 0);
    assert_string_equal(model_stream_response_id(st), "msg_1");
    model_stream_free(st);
    /* Too long to be an id: not kept. */
    st = model_stream_new(&model_provider_openai, NULL, 4096);
    char big[600];
    int n = snprintf(big, sizeof(big), "data: {\"id\":\"");
    memset(big + n, 'x', 300);
    snprintf(big + n + 300, sizeof(big) - (size_t)n - 300, "\",\"choices\":[]}\n\n");
    assert_int_equal(model_stream_feed(st, big, strlen(big)), 0);
    assert_null(model_stream_response_id(st));
    model_stream_free(st);
}

/* ---- history of earlier runs (run_history.c) ---- */

/* Three stored runs, oldest first: a tool run, a failed one, a plain one. */
static const char *HISTORY_ROWS =
    "[{\"status\":\"COMPLETED\",\"messages\":["
    "{\"role\":\"user\",\"content\":\"1+1?\",\"created_at\":1},"
    "{\"role\":\"assistant\",\"content\":\"\",\"created_at\":1,"
    "\"tool_calls\":[{\"id\":\"c1\",\"name\":\"calculator\",\"arguments\":\"{\\\"e\\\":\\\"1+1\\\"}"
    "\"}]},"
    "{\"role\":\"tool\",\"content\":\"2\",\"tool_call_id\":\"c1\",\"tool_name\":\"calculator\"},"
    "{\"role\":\"assistant\",\"content\":\"It is 2.\"}]},"
    "{\"status\":\"ERROR\",\"messages\":[{\"role\":\"user\",\"content\":\"fails\"}]},"
    "{\"status\":\"COMPLETED\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"sys\"},"
    "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}]";

static void test_history_keeps_tool_traffic_not_failed_runs(void **state)
{
    (void)state;
    json_t *rows = J(HISTORY_ROWS);
    json_t *h = run_history_build(rows, 10, 1 << 20);
    assert_json(h, "[{\"role\":\"user\",\"content\":\"1+1?\"},"
                   "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c1\","
                   "\"name\":\"calculator\",\"arguments\":\"{\\\"e\\\":\\\"1+1\\\"}\"}]},"
                   "{\"role\":\"tool\",\"content\":\"2\",\"tool_call_id\":\"c1\"},"
                   "{\"role\":\"assistant\",\"content\":\"It is 2.\"},"
                   "{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":\"hello\"}]");
    /* In each provider's own form. */
    model_config_t oa = cfg_of(&model_provider_openai, "http://x", NULL);
    json_t *body = model_request_body(&oa, h, NULL);
    json_t *msgs = json_object_get(body, "messages");
    assert_json(json_array_get(msgs, 1),
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
                "\"type\":\"function\",\"function\":{\"name\":\"calculator\","
                "\"arguments\":\"{\\\"e\\\":\\\"1+1\\\"}\"}}]}");
    assert_json(json_array_get(msgs, 2), "{\"role\":\"tool\",\"tool_call_id\":\"c1\","
                                         "\"content\":\"2\"}");
    json_decref(body);
    model_config_t an = cfg_of(&model_provider_anthropic, "http://x", NULL);
    body = model_request_body(&an, h, NULL);
    msgs = json_object_get(body, "messages");
    assert_json(json_array_get(msgs, 1),
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"c1\","
                "\"name\":\"calculator\",\"input\":{\"e\":\"1+1\"}}]}");
    assert_json(json_array_get(msgs, 2),
                "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                "\"tool_use_id\":\"c1\",\"content\":\"2\"}]}");
    json_decref(body);
    json_decref(h);
    json_decref(rows);
}

static void test_history_bounds(void **state)
{
    (void)state;
    json_t *rows = J(HISTORY_ROWS);
    /* One run: the newest completed one. */
    json_t *h = run_history_build(rows, 1, 1 << 20);
    assert_json(h, "[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":\"hello\"}]");
    json_decref(h);
    /* The bytes: the newest run fits, the older tool run does not. */
    h = run_history_build(rows, 10, 100);
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);
    h = run_history_build(rows, 10, 10);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    h = run_history_build(rows, 0, 1 << 20);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    json_decref(rows);
}

static void test_history_drops_unpaired_tool_traffic(void **state)
{
    (void)state;
    /* A call without its result, a result without its call, a repeated id:
     * each run is left out whole; the good one stays. */
    json_t *rows =
        J("[{\"status\":\"COMPLETED\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
          "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"x\","
          "\"name\":\"t\",\"arguments\":\"{}\"}]},{\"role\":\"assistant\","
          "\"content\":\"done\"}]},"
          "{\"status\":\"COMPLETED\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"},"
          "{\"role\":\"tool\",\"content\":\"r\",\"tool_call_id\":\"y\"},"
          "{\"role\":\"assistant\",\"content\":\"done\"}]},"
          "{\"status\":\"COMPLETED\",\"messages\":[{\"role\":\"user\",\"content\":\"c\"},"
          "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"z\","
          "\"name\":\"t\",\"arguments\":\"{}\"},{\"id\":\"z\",\"name\":\"t\","
          "\"arguments\":\"{}\"}]},{\"role\":\"tool\",\"content\":\"r\","
          "\"tool_call_id\":\"z\"},{\"role\":\"tool\",\"content\":\"r\","
          "\"tool_call_id\":\"z\"}]},"
          "{\"status\":\"CANCELLED\",\"messages\":[{\"role\":\"user\",\"content\":\"d\"}]},"
          "{\"status\":\"COMPLETED\",\"messages\":[{\"role\":\"user\",\"content\":\"e\"},"
          "{\"role\":\"assistant\",\"content\":\"ok\"}]}]");
    json_t *h = run_history_build(rows, 10, 1 << 20);
    assert_json(h, "[{\"role\":\"user\",\"content\":\"e\"},"
                   "{\"role\":\"assistant\",\"content\":\"ok\"}]");
    json_decref(h);
    json_decref(rows);
}

/* ---- a tool call as Agno prints it (ToolCallCompleted.content) ---- */

static void test_tool_call_str(void **state)
{
    (void)state;
    char *s = run_tool_call_str("current_time", "{\"timezone\":\"UTC\"}");
    assert_string_equal(s, "current_time(timezone=UTC)");
    free(s);
    s = run_tool_call_str("f", "{\"a\":1,\"b\":true,\"c\":null,\"d\":[1,2]}");
    assert_string_equal(s, "f(a=1, b=True, c=None, d=[1,2])");
    free(s);
    s = run_tool_call_str("f", "{}");
    assert_string_equal(s, "f()");
    free(s);
    s = run_tool_call_str("f", "not json");
    assert_string_equal(s, "f()");
    free(s);
    /* A long string argument is "..." (max(20, (80 - 1 - 4) / 2) = 37 chars). */
    s = run_tool_call_str("f", "{\"q\":\"0123456789012345678901234567890123456789\"}");
    assert_string_equal(s, "f(q=...)");
    free(s);
    /* Past 80 characters in all: only the name. */
    s = run_tool_call_str("f", "{\"a\":\"0123456789012345678901234567890\",\"b\":"
                               "\"0123456789012345678901234567890\",\"c\":\"0123456789\"}");
    assert_string_equal(s, "f(...)");
    free(s);
}

/* Appends count 4-byte characters at buf[n]; the new length. */
static size_t put_smiles(char *buf, size_t size, size_t n, int count)
{
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s", "\xF0\x9F\x98\x80");
    return n;
}

/* The text is built in at most 320 bytes (80 characters of 4-byte UTF-8):
 * 80 characters of mostly 4-byte ones still show in full, and an argument
 * of any size past that is cut to the name. */
static void test_tool_call_str_bound(void **state)
{
    (void)state;
    char args[512], want[512];
    /* {"a":"<36 smiles>","b":"<35 smiles>"} shows as f(a=<36>, b=<35>). */
    size_t n = (size_t)snprintf(args, sizeof args, "{\"a\":\"");
    n = put_smiles(args, sizeof args, n, 36);
    n += (size_t)snprintf(args + n, sizeof args - n, "\",\"b\":\"");
    n = put_smiles(args, sizeof args, n, 35);
    snprintf(args + n, sizeof args - n, "\"}");
    n = (size_t)snprintf(want, sizeof want, "f(a=");
    n = put_smiles(want, sizeof want, n, 36);
    n += (size_t)snprintf(want + n, sizeof want - n, ", b=");
    n = put_smiles(want, sizeof want, n, 35);
    snprintf(want + n, sizeof want - n, ")");
    char *s = run_tool_call_str("f", args); /* 80 characters, 293 bytes */
    assert_string_equal(s, want);
    free(s);
    size_t big = 64 << 10;
    char *arr = malloc(big + 16);
    assert_non_null(arr);
    n = (size_t)snprintf(arr, big + 16, "{\"d\":[");
    while (n < big - 2)
        n += (size_t)snprintf(arr + n, big + 16 - n, "1,");
    snprintf(arr + n, big + 16 - n, "1]}");
    s = run_tool_call_str("f", arr);
    assert_string_equal(s, "f(...)");
    free(s);
    free(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_find),
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_provider_agno_names),
        cmocka_unit_test(test_provider_defaults),
        cmocka_unit_test(test_key_check),
        cmocka_unit_test(test_forbid_tools),
        cmocka_unit_test(test_url_joining),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_openai_body_full),
        cmocka_unit_test(test_openai_body_minimal),
        cmocka_unit_test(test_anthropic_body_full),
        cmocka_unit_test(test_anthropic_body_minimal),
        cmocka_unit_test(test_body_bad_input),
        cmocka_unit_test(test_openai_stream_every_split),
        cmocka_unit_test(test_openai_stream_every_cut),
        cmocka_unit_test(test_anthropic_stream_every_split),
        cmocka_unit_test(test_anthropic_stream_every_cut),
        cmocka_unit_test(test_stop_reasons),
        cmocka_unit_test(test_openai_whole_calls_without_index),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_stream_ended_early),
        cmocka_unit_test(test_stream_bounds),
        cmocka_unit_test(test_stream_tool_call_bounds),
        cmocka_unit_test(test_stream_reply_bound_is_set),
        cmocka_unit_test(test_stream_progress),
        cmocka_unit_test(test_finish_twice_and_nameless_call),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_error_message_capped),
        cmocka_unit_test(test_history_keeps_tool_traffic_not_failed_runs),
        cmocka_unit_test(test_history_bounds),
        cmocka_unit_test(test_history_drops_unpaired_tool_traffic),
        cmocka_unit_test(test_tool_call_str),
        cmocka_unit_test(test_tool_call_str_bound),
        cmocka_unit_test(test_stream_response_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
