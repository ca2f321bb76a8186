/* Agent registry: the system message of a run, built as Agno 3.1.10's
 * get_system_message (agno/agent/_messages.py) builds it from the fields we
 * implement, in its order and with its wording:
 *
 *   <instructions>\n\n
 *   <additional_information>\n- The current time is <str(datetime.now())>.\n
 *   </additional_information>\n\n
 *   <expected_output>\n<expected_output, stripped>\n</expected_output>\n\n
 *   <additional_context>\n
 *
 * and then stripped, as Agno strips it. With none of the three set, the
 * instructions go as written, as before. */
#include <time.h>

#include "agent/registry_internal.h"
#include "core/buf.h"

/* Every piece comes from one agent file. */
#define SYSTEM_MAX ((size_t)FILE_MAX_BYTES * 2)

/* Python's str(datetime.now()): local time, microseconds only when not 0. */
static buf_rc_t add_time(buf_t *b, long long now_us)
{
    time_t s = (time_t)(now_us / 1000000);
    long us = (long)(now_us % 1000000);
    struct tm tm;
    char text[64];
    if (localtime_r(&s, &tm) == NULL || strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm) == 0)
        return BUF_FORMAT;
    buf_rc_t rc = buf_printf(b, "<additional_information>\n- The current time is %s", text);
    if (rc == BUF_OK && us != 0)
        rc = buf_printf(b, ".%06ld", us);
    return rc == BUF_OK ? buf_append_str(b, ".\n</additional_information>\n\n") : rc;
}

/* The bounds of s without leading and trailing whitespace, as Python's
 * str.strip(). */
static const char *strip(const char *s, size_t *n)
{
    *n = strlen(s);
    while (*n > 0 && isspace((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

static buf_rc_t add_stripped(buf_t *b, const char *s)
{
    size_t n;
    const char *from = strip(s, &n);
    return buf_append(b, from, n);
}

static buf_rc_t compose(buf_t *b, const agent_def_t *a, long long now_us)
{
    buf_rc_t rc = BUF_OK;
    if (a->instructions != NULL && a->instructions[0] != '\0')
        rc = buf_printf(b, "%s\n\n", a->instructions);
    if (rc == BUF_OK && a->add_datetime_to_context)
        rc = add_time(b, now_us);
    if (rc == BUF_OK && a->expected_output != NULL) {
        rc = buf_append_str(b, "<expected_output>\n");
        if (rc == BUF_OK)
            rc = add_stripped(b, a->expected_output);
        if (rc == BUF_OK)
            rc = buf_append_str(b, "\n</expected_output>\n\n");
    }
    if (rc == BUF_OK && a->additional_context != NULL)
        rc = buf_printf(b, "%s\n", a->additional_context);
    return rc;
}

char *registry_system_message(const agent_def_t *a, long long now_us, int *oom)
{
    *oom = 0;
    if (!a->add_datetime_to_context && a->expected_output == NULL &&
        a->additional_context == NULL) {
        if (a->instructions == NULL || a->instructions[0] == '\0')
            return NULL;
        char *text = strdup(a->instructions);
        *oom = text == NULL;
        return text;
    }
    buf_t b;
    buf_init(&b, SYSTEM_MAX);
    char *text = compose(&b, a, now_us) == BUF_OK ? buf_take(&b, NULL) : NULL;
    buf_free(&b);
    if (text == NULL) {
        *oom = 1;
        return NULL;
    }
    size_t n;
    const char *from = strip(text, &n);
    memmove(text, from, n);
    text[n] = '\0';
    if (n == 0) {
        free(text);
        return NULL;
    }
    return text;
}
