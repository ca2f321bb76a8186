/* The built-in calculator. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/tools_builtin_internal.h"

/* ---- calculator: a recursive-descent parser over doubles ----
 *   expr  := term (('+' | '-') term)*
 *   term  := unary (('*' | '/' | '%') unary)*
 *   unary := ('+' | '-') unary | '(' expr ')' | number            */

typedef struct calc {
    const char *s;
    size_t pos;
    int depth;
    char err[ERR_MAX];
} calc_t;

__attribute__((format(printf, 2, 3))) static int calc_fail(calc_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static char calc_peek(calc_t *c)
{
    while (c->s[c->pos] == ' ' || c->s[c->pos] == '\t')
        c->pos++;
    return c->s[c->pos];
}

static int calc_unexpected(calc_t *c)
{
    char ch = calc_peek(c);
    if (!ch)
        return calc_fail(c, "unexpected end of expression");
    return calc_fail(c, "unexpected '%c' at position %zu", isprint((unsigned char)ch) ? ch : '?',
                     c->pos + 1);
}

static int calc_number(calc_t *c, double *out)
{
    size_t start = c->pos, n = 0;
    for (int seen_dot = 0;; c->pos++) {
        char ch = c->s[c->pos];
        if (isdigit((unsigned char)ch))
            n++;
        else if (ch == '.' && !seen_dot)
            seen_dot = 1;
        else
            break;
    }
    if (n == 0) {
        c->pos = start;
        return calc_unexpected(c);
    }
    char buf[CALC_MAX_NUMBER];
    if (c->pos - start >= sizeof(buf))
        return calc_fail(c, "number too long at position %zu", start + 1);
    /* Only digits and one '.' reach strtod: no hex, exponent, inf or nan. */
    memcpy(buf, c->s + start, c->pos - start);
    buf[c->pos - start] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : calc_fail(c, "number too large at position %zu", start + 1);
}

static int calc_expr(calc_t *c, double *out);

static int calc_unary(calc_t *c, double *out)
{
    if (++c->depth > CALC_MAX_DEPTH)
        return calc_fail(c, "expression nested too deeply (at most %d levels)", CALC_MAX_DEPTH);
    int rc;
    char ch = calc_peek(c);
    if (ch == '+' || ch == '-') {
        c->pos++;
        rc = calc_unary(c, out);
        if (ch == '-')
            *out = -*out;
    } else if (ch == '(') {
        c->pos++;
        rc = calc_expr(c, out);
        if (rc == 0 && calc_peek(c) != ')')
            rc = calc_peek(c) ? calc_unexpected(c) : calc_fail(c, "missing ')'");
        c->pos += rc == 0;
    } else {
        rc = calc_number(c, out);
    }
    c->depth--;
    return rc;
}

static int calc_apply(calc_t *c, char op, double *acc, double rhs)
{
    if ((op == '/' || op == '%') && rhs == 0)
        return calc_fail(c, op == '/' ? "division by zero" : "modulo by zero");
    switch (op) {
    case '+':
        *acc += rhs;
        break;
    case '-':
        *acc -= rhs;
        break;
    case '*':
        *acc *= rhs;
        break;
    case '/':
        *acc /= rhs;
        break;
    default:
        *acc = fmod(*acc, rhs);
        break;
    }
    return isfinite(*acc) ? 0 : calc_fail(c, "result is too large");
}

static int calc_term(calc_t *c, double *out)
{
    if (calc_unary(c, out))
        return -1;
    for (char op = calc_peek(c); op == '*' || op == '/' || op == '%'; op = calc_peek(c)) {
        double rhs = 0;
        c->pos++;
        if (calc_unary(c, &rhs) || calc_apply(c, op, out, rhs))
            return -1;
    }
    return 0;
}

static int calc_expr(calc_t *c, double *out)
{
    if (calc_term(c, out))
        return -1;
    for (char op = calc_peek(c); op == '+' || op == '-'; op = calc_peek(c)) {
        double rhs = 0;
        c->pos++;
        if (calc_term(c, &rhs) || calc_apply(c, op, out, rhs))
            return -1;
    }
    return 0;
}

static int calc_eval(const char *expr, double *out, char *err, size_t errlen)
{
    calc_t c = {.s = expr};
    int rc = calc_expr(&c, out);
    if (rc == 0 && calc_peek(&c))
        rc = calc_unexpected(&c);
    if (rc)
        snprintf(err, errlen, "%s", c.err);
    return rc;
}

/* Integral results print without a fraction; -0 prints as 0. */
static json_t *calc_number_json(double v)
{
    if (v == 0)
        return json_integer(0);
    if (v == trunc(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact as an integer */
        return json_integer((json_int_t)v);
    return json_real(v);
}

char *tb_calculator(json_t *args, int *is_error)
{
    static const char *const keys[] = {"expression", NULL};
    char err[ERR_MAX];
    const char *expr;
    if (tb_check_keys(args, keys, err, sizeof(err)) ||
        tb_get_string(args, "expression", 1, &expr, err, sizeof(err)))
        return tb_error_result(is_error, "%s", err);
    if (strlen(expr) > CALC_MAX_LEN)
        return tb_error_result(is_error, "expression is too long (at most %d characters)",
                               CALC_MAX_LEN);
    if (tb_blank(expr))
        return tb_error_result(is_error, "expression is empty");
    double v;
    if (calc_eval(expr, &v, err, sizeof(err)))
        return tb_error_result(is_error, "cannot evaluate: %s", err);
    return tb_json_result(
        json_pack("{s:s, s:o}", "expression", expr, "result", calc_number_json(v)), is_error);
}
