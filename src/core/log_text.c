/* The text log format (core/log_text.h). Escaping is by code point, not by
 * byte: valid UTF-8 stays readable, while C0/C1 controls, DEL, invalid
 * bytes and the characters that reorder or break a terminal line (U+2028,
 * U+2029, the bidi controls) are written as escapes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log_line.h"
#include "core/log_text.h"

#define SGR_RESET "\033[0m"
#define SGR_DIM "\033[2m"
#define BLOCK_KEY_WIDTH 8

static const char *level_colour(const char *level)
{
    switch (level[0]) {
    case 'd':
        return "\033[36m"; /* cyan */
    case 'w':
        return "\033[33m"; /* yellow */
    case 'e':
        return "\033[1;31m"; /* bold red */
    default:
        return "\033[32m"; /* green */
    }
}

/* Upper case, padded, so messages line up. */
static const char *level_label(const char *level)
{
    switch (level[0]) {
    case 'd':
        return "DEBUG";
    case 'w':
        return "WARN ";
    case 'e':
        return "ERROR";
    default:
        return "INFO ";
    }
}

/* Characters a terminal would act on rather than show as they are. */
static int unsafe_code_point(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

static int plain_byte(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

static int needs_quotes(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!plain_byte(s[i]))
            return 1;
    return 0;
}

static buf_rc_t escape_ascii(buf_t *out, unsigned char c, int quote)
{
    switch (c) {
    case '\n':
        return buf_append(out, "\\n", 2);
    case '\r':
        return buf_append(out, "\\r", 2);
    case '\t':
        return buf_append(out, "\\t", 2);
    case '"':
    case '\\':
        if (quote) {
            char e[2] = {'\\', (char)c};
            return buf_append(out, e, 2);
        }
        return buf_append(out, &c, 1);
    default:
        if (c < 0x20 || c == 0x7f)
            return buf_printf(out, "\\x%02x", c);
        return buf_append(out, &c, 1);
    }
}

buf_rc_t log_text_value(buf_t *out, const char *str, size_t n, int quote)
{
    const unsigned char *s = (const unsigned char *)str;
    int quoted = quote && needs_quotes(s, n);
    buf_rc_t rc = quoted ? buf_append(out, "\"", 1) : BUF_OK;
    for (size_t i = 0; i < n && rc == BUF_OK;) {
        if (s[i] < 0x80) {
            rc = escape_ascii(out, s[i], quoted);
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = log_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            rc = buf_printf(out, "\\x%02x", s[i]);
            i++;
        } else {
            rc = unsafe_code_point(cp) ? buf_printf(out, "\\u%04x", (unsigned)cp)
                                       : buf_append(out, s + i, len);
            i += len;
        }
    }
    return rc == BUF_OK && quoted ? buf_append(out, "\"", 1) : rc;
}

static buf_rc_t render_json_value(buf_t *out, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return log_text_value(out, json_string_value(v), json_string_length(v), 1);
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf_append_str(out, num);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        return buf_append_str(out, num);
    case JSON_TRUE:
        return buf_append_str(out, "true");
    case JSON_FALSE:
        return buf_append_str(out, "false");
    default: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL)
            return BUF_NOMEM;
        buf_rc_t rc = log_text_value(out, text, strlen(text), 1);
        free(text);
        return rc;
    }
    }
}

/* A block's field is the rest of its line: escaped, not quoted, its key
 * padded so the values line up. */
static buf_rc_t render_field(buf_t *out, const char *key, const json_t *v, log_text_style_t st)
{
    const char *dim = st.colour ? SGR_DIM : "", *reset = st.colour ? SGR_RESET : "";
    buf_rc_t rc = buf_printf(out, st.block ? "\n    %s" : " %s", dim);
    if (rc == BUF_OK)
        rc = log_text_value(out, key, strlen(key), 0);
    size_t pad = st.block && strlen(key) < BLOCK_KEY_WIDTH ? BLOCK_KEY_WIDTH - strlen(key) : 0;
    if (rc == BUF_OK)
        rc = buf_printf(out, "%s%*s%s", reset, (int)pad, "", st.block ? " " : "=");
    if (rc != BUF_OK)
        return rc;
    if (st.block && json_is_string(v))
        return log_text_value(out, json_string_value(v), json_string_length(v), 0);
    return render_json_value(out, v);
}

static buf_rc_t render_head(buf_t *out, const char *ts, const char *level, const char *msg,
                            log_text_style_t st)
{
    const char *lv = level_label(level);
    buf_rc_t rc = st.colour ? buf_printf(out, SGR_DIM "%s" SGR_RESET " %s%s" SGR_RESET, ts,
                                         level_colour(level), lv)
                            : buf_printf(out, "%s %s", ts, lv);
    if (rc == BUF_OK && msg != NULL) {
        rc = buf_append(out, " ", 1);
        if (rc == BUF_OK)
            rc = log_text_value(out, msg, strlen(msg), 0);
    }
    return rc;
}

buf_rc_t log_text_render(buf_t *out, const char *ts, const char *level, const char *msg,
                         const json_t *fields, log_text_style_t style)
{
    buf_rc_t rc = render_head(out, ts, level, msg, style);
    const char *key;
    const json_t *v;
    /* jansson's iteration macro takes a non-const object; nothing changes it. */
    json_t *obj = (json_t *)(uintptr_t)fields;
    if (json_is_object(obj)) {
        json_object_foreach(obj, key, v)
        {
            if (rc != BUF_OK)
                break;
            if (!json_is_null(v))
                rc = render_field(out, key, v, style);
        }
    }
    return rc == BUF_OK ? buf_append(out, "\n", 1) : rc;
}
