/* The text log format (core/log_text.c): a value a client chose cannot
 * forge a line or reach the terminal as a control sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/log_text.h"

static char *render(const char *msg, json_t *fields, log_text_style_t st)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(log_text_render(&b, "2026-01-02T03:04:05.678Z", "info", msg, fields, st),
                     BUF_OK);
    json_decref(fields);
    return buf_take(&b, NULL);
}

static void value_is(const char *in, size_t n, const char *want)
{
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(log_text_value(&b, in, n, 1), BUF_OK);
    assert_string_equal(buf_ptr(&b), want);
    buf_free(&b);
}

static void a_line_of_key_value_fields(void **state)
{
    (void)state;
    log_text_style_t plain = {0};
    char *line = render("request",
                        json_pack("{s:s, s:i, s:b, s:n, s:s}", "method", "GET", "status", 200, "ok",
                                  1, "user_id", "path", "/a b"),
                        plain);
    assert_string_equal(line, "2026-01-02T03:04:05.678Z INFO  request method=GET status=200 "
                              "ok=true path=\"/a b\"\n");
    free(line);
}

static void control_bytes_are_escaped(void **state)
{
    (void)state;
    value_is("a\nb", 3, "\"a\\nb\"");
    value_is("x\r\n2026 ERROR forged", 20, "\"x\\r\\n2026 ERROR forged\"");
    value_is("\033[31mred", 8, "\"\\x1b[31mred\"");
    value_is("q\"u=o\\te", 8, "\"q\\\"u=o\\\\te\"");
    value_is("del\x7f", 4, "\"del\\x7f\"");
    value_is("", 0, "\"\"");
    value_is("nul\0x", 5, "\"nul\\x00x\"");
}

static void utf8_stays_but_not_terminal_controls(void **state)
{
    (void)state;
    value_is("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    value_is("\xc2\x9b"
             "31m",
             5, "\"\\u009b31m\""); /* C1 CSI */
    value_is("a\xe2\x80\xa8"
             "b",
             5, "\"a\\u2028b\""); /* line separator */
    value_is("\xe2\x80\xae"
             "evil",
             7, "\"\\u202eevil\""); /* bidi override */
    value_is("bad\xff\xc3", 5, "\"bad\\xff\\xc3\"");
    value_is("\xc0\x8a", 2, "\"\\xc0\\x8a\""); /* an overlong newline */
}

static void the_message_and_keys_are_escaped_too(void **state)
{
    (void)state;
    log_text_style_t plain = {0};
    char *line = render("bad\nline", json_pack("{s:s}", "k\n", "v"), plain);
    assert_string_equal(line, "2026-01-02T03:04:05.678Z INFO  bad\\nline k\\n=v\n");
    free(line);
}

static void a_block_has_one_field_per_line(void **state)
{
    (void)state;
    log_text_style_t block = {.block = 1};
    char *text =
        render("listening", json_pack("{s:s, s:s}", "url", "http://x:1", "redis", "a\nb"), block);
    assert_string_equal(text, "2026-01-02T03:04:05.678Z INFO  listening\n"
                              "    url      http://x:1\n"
                              "    redis    a\\nb\n");
    free(text);
}

static void colour_only_when_asked(void **state)
{
    (void)state;
    log_text_style_t plain = {0}, colour = {.colour = 1};
    char *a = render("m", json_pack("{s:s}", "k", "v"), plain);
    char *b = render("m", json_pack("{s:s}", "k", "v"), colour);
    assert_null(strchr(a, '\033'));
    assert_non_null(strstr(b, "\033[32mINFO "));
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_line_of_key_value_fields),
        cmocka_unit_test(control_bytes_are_escaped),
        cmocka_unit_test(utf8_stays_but_not_terminal_controls),
        cmocka_unit_test(the_message_and_keys_are_escaped_too),
        cmocka_unit_test(a_block_has_one_field_per_line),
        cmocka_unit_test(colour_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
