/* api/form: the multipart/form-data parser (form_multipart, which
 * form_fields calls for a multipart body): fields, boundaries, quoted
 * names, limits, malformed parts and fields that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/form.h"

#define CT "multipart/form-data; boundary=B0"

typedef struct parsed {
    json_t *fields;
    json_t *bad_key;
    form_multipart_err_t err;
} parsed_t;

static parsed_t parse_ct(const char *ctype, const char *body, size_t len)
{
    parsed_t p = {NULL, NULL, FORM_MULTIPART_OK};
    p.fields = form_multipart(ctype, strlen(ctype), body, len, &p.err, &p.bad_key);
    return p;
}

static parsed_t parse(const char *body)
{
    return parse_ct(CT, body, strlen(body));
}

static void parsed_free(parsed_t *p)
{
    json_decref(p->fields);
    json_decref(p->bad_key);
}

static const char *field(const parsed_t *p, const char *key)
{
    return json_string_value(json_object_get(p->fields, key));
}

static void test_fields(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"
                       "hello\r\nworld\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"stream\"\r\n\r\n"
                       "false\r\n"
                       "--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_null(p.bad_key);
    assert_int_equal(json_object_size(p.fields), 2);
    /* Only the CRLF before the delimiter is the delimiter's. */
    assert_string_equal(field(&p, "message"), "hello\r\nworld");
    assert_string_equal(field(&p, "stream"), "false");
    parsed_free(&p);
}

static void test_empty_value_and_no_crlf(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx--B0--");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_string_equal(field(&p, "a"), "");
    assert_string_equal(field(&p, "b"), "x");
    parsed_free(&p);
}

static void test_files_and_nameless_parts_skipped(void **state)
{
    (void)state;
    parsed_t p = parse("preamble\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"files\"; "
                       "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nDATA\r\n"
                       "--B0\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n"
                       "--B0--\r\nepilogue");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_int_equal(json_object_size(p.fields), 1);
    assert_string_equal(field(&p, "k"), "v");
    parsed_free(&p);
}

static void test_duplicate_name_last_wins(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n1\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n2\r\n"
                       "--B0--\r\n");
    assert_int_equal(json_object_size(p.fields), 1);
    assert_string_equal(field(&p, "k"), "2");
    parsed_free(&p);
}

static void test_quoted_names(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"a b=c;d\"\r\n\r\n1\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"caf\xc3\xa9\"\r\n\r\n2\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n3\r\n"
                       "--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_string_equal(field(&p, "a b=c;d"), "1");
    assert_string_equal(field(&p, "caf\xc3\xa9"), "2");
    parsed_free(&p);
    /* An unterminated name is no field. */
    p = parse("--B0\r\nContent-Disposition: form-data; name=\"open\r\n\r\nv\r\n--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_int_equal(json_object_size(p.fields), 0);
    parsed_free(&p);
}

static void test_boundary_forms(void **state)
{
    (void)state;
    const char *body =
        "--q r\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--q r--\r\n";
    parsed_t p = parse_ct("multipart/form-data; boundary=\"q r\"", body, strlen(body));
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_string_equal(field(&p, "k"), "v");
    parsed_free(&p);
    body = "--B1\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nw\r\n--B1--\r\n";
    p = parse_ct("multipart/form-data; boundary=B1; charset=utf-8", body, strlen(body));
    assert_string_equal(field(&p, "k"), "w");
    parsed_free(&p);
}

static void test_unusable_boundaries(void **state)
{
    (void)state;
    static const char *const cts[] = {
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/form-data; boundary=;x",
    };
    for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++) {
        parsed_t p = parse_ct(cts[i], "--x\r\n", 5);
        assert_int_equal(p.err, FORM_MULTIPART_NO_BOUNDARY);
        assert_null(p.fields);
        assert_null(p.bad_key);
    }
}

/* The boundary is bounded: 99 bytes are taken, 100 refused. */
static void test_boundary_length_limit(void **state)
{
    (void)state;
    char ct[256], body[512], b[101];
    memset(b, 'b', 99);
    b[99] = '\0';
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", b);
    snprintf(body, sizeof body,
             "--%s\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--%s--\r\n", b, b);
    parsed_t p = parse_ct(ct, body, strlen(body));
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_string_equal(field(&p, "k"), "v");
    parsed_free(&p);
    memset(b, 'b', 100);
    b[100] = '\0';
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", b);
    p = parse_ct(ct, body, strlen(body));
    assert_int_equal(p.err, FORM_MULTIPART_NO_BOUNDARY);
    assert_null(p.fields);
}

/* A part without the end of its headers, or without a delimiter after
 * it, ends the parse: the fields before it stay. */
static void test_malformed_parts(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n"
        "--B0\r\nContent-Disposition: form-data; name=\"x\"\r\n",
        "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n"
        "--B0\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end",
        "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B0",
        "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B0-",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        parsed_t p = parse(bodies[i]);
        assert_int_equal(p.err, FORM_MULTIPART_OK);
        assert_int_equal(json_object_size(p.fields), 1);
        assert_string_equal(field(&p, "k"), "v");
        parsed_free(&p);
    }
}

static void test_no_parts(void **state)
{
    (void)state;
    static const char *const bodies[] = {"", "no delimiter here", "--B0--\r\n", "--B0"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        parsed_t p = parse(bodies[i]);
        assert_int_equal(p.err, FORM_MULTIPART_OK);
        assert_non_null(p.fields);
        assert_int_equal(json_object_size(p.fields), 0);
        parsed_free(&p);
    }
}

/* A value with a NUL keeps its length (the body is not a C string). */
static void test_value_with_nul(void **state)
{
    (void)state;
    static const char body[] = "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n"
                               "a\0b\r\n--B0--\r\n";
    parsed_t p = parse_ct(CT, body, sizeof body - 1);
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    json_t *v = json_object_get(p.fields, "k");
    assert_int_equal(json_string_length(v), 3);
    assert_memory_equal(json_string_value(v), "a\0b", 3);
    parsed_free(&p);
}

/* jansson refuses text that is not UTF-8; the caller replies 422 with the
 * field's name, so the field does not read as missing. */
static void test_value_not_utf8(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"ok\"\r\n\r\n1\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"bad\"\r\n\r\n\xff\xfe\r\n"
                       "--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_NOT_UTF8);
    assert_null(p.fields);
    assert_string_equal(json_string_value(p.bad_key), "bad");
    parsed_free(&p);
}

static void test_name_not_utf8(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"\xc3(\"\r\n\r\n1\r\n"
                       "--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_NOT_UTF8);
    assert_null(p.fields);
    assert_null(p.bad_key);
    parsed_free(&p);
}

/* A file part's bytes are never decoded, so binary files are fine. */
static void test_binary_file_part(void **state)
{
    (void)state;
    parsed_t p = parse("--B0\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\""
                       "\r\n\r\n\xff\xfe\x80\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--B0--\r\n");
    assert_int_equal(p.err, FORM_MULTIPART_OK);
    assert_int_equal(json_object_size(p.fields), 1);
    assert_string_equal(field(&p, "k"), "v");
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_empty_value_and_no_crlf),
        cmocka_unit_test(test_files_and_nameless_parts_skipped),
        cmocka_unit_test(test_duplicate_name_last_wins),
        cmocka_unit_test(test_quoted_names),
        cmocka_unit_test(test_boundary_forms),
        cmocka_unit_test(test_unusable_boundaries),
        cmocka_unit_test(test_boundary_length_limit),
        cmocka_unit_test(test_malformed_parts),
        cmocka_unit_test(test_no_parts),
        cmocka_unit_test(test_value_with_nul),
        cmocka_unit_test(test_value_not_utf8),
        cmocka_unit_test(test_name_not_utf8),
        cmocka_unit_test(test_binary_file_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
