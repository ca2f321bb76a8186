/* libFuzzer target for the multipart/form-data parser (form_multipart,
 * which the handler calls) and the form value decoder (http_url_decode).
 * The input is a Content-Type value, a newline, then the body; an input
 * with no newline is a body under a fixed boundary. The parser must give
 * an object of string values or say why not, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/form.h"
#include "fuzz_target.h"
#include "http/request.h"

static const char fixed_ctype[] = "multipart/form-data; boundary=XyZ";

static void check_fields(json_t *o, form_multipart_err_t err, json_t *bad_key)
{
    if (err == FORM_MULTIPART_OK) {
        if (!json_is_object(o) || bad_key != NULL)
            abort();
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
            if (!json_is_string(v) || k == NULL)
                abort(); /* every value is a string */
        }
        return;
    }
    if (o != NULL)
        abort(); /* an error gives no fields */
    if (err == FORM_MULTIPART_NO_BOUNDARY && bad_key != NULL)
        abort();
    if (bad_key != NULL && !json_is_string(bad_key))
        abort();
}

static void run_multipart(const char *ct, size_t ctlen, const char *body, size_t len)
{
    form_multipart_err_t err = FORM_MULTIPART_OK;
    json_t *bad_key = NULL;
    json_t *o = form_multipart(ct, ctlen, body, len, &err, &bad_key);
    check_fields(o, err, bad_key);
    json_decref(o);
    json_decref(bad_key);
}

/* A decoded value is never longer than its encoding, and is NUL-ended. */
static void run_url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        abort();
    size_t n = http_url_decode(out, s, len);
    if (n > len || out[n] != '\0')
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    if (nl != NULL)
        run_multipart(s, (size_t)(nl - s), nl + 1, size - (size_t)(nl - s) - 1);
    else
        run_multipart(fixed_ctype, sizeof fixed_ctype - 1, s, size);
    run_url_decode(s, size);
    return 0;
}
