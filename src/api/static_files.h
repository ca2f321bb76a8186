/* The files the service serves as they are: its OpenAPI document and the
 * Swagger UI assets behind /docs. Mapped once at start from the static
 * dir, bounded, read-only: handlers only send the bytes. */
#ifndef AGENTOS_API_STATIC_FILES_H
#define AGENTOS_API_STATIC_FILES_H

#include <stddef.h>

#define STATIC_OPENAPI_MAX (4u << 20)
#define STATIC_ASSET_MAX (8u << 20)
#define STATIC_ERR_MAX 512

/* The Swagger UI files /docs needs, by route: a fixed list, never a name
 * taken from a request. */
typedef enum { STATIC_ASSET_BUNDLE = 0, STATIC_ASSET_CSS, STATIC_ASSET_COUNT } static_asset_t;

typedef struct static_blob {
    const char *data; /* NULL: not loaded */
    void *mapping;    /* data's read-only mapping, for munmap */
    size_t len;
} static_blob_t;

typedef struct api_statics {
    static_blob_t openapi;
    static_blob_t assets[STATIC_ASSET_COUNT];
    int docs_ready;                     /* every asset loaded */
    char openapi_error[STATIC_ERR_MAX]; /* why /openapi.json answers 503 */
    char docs_error[STATIC_ERR_MAX];    /* why /docs answers 503 */
} api_statics_t;

/* The static dir when AGENTOS_STATIC_DIR is unset: beside the binary,
 * <bin>/../share/agentos (installed) when it holds openapi.json, else
 * <bin>/../docs (a build in the repo). Writes into out; -1 when unknown. */
int static_default_dir(char *out, size_t outlen);
/* Loads dir/openapi.json and dir/swagger-ui/<asset>. A file that is
 * missing or too big is not fatal: its route answers 503 with the reason. */
void api_statics_load(api_statics_t *s, const char *dir);
void api_statics_free(api_statics_t *s);
/* The file name and Content-Type of an asset. */
const char *static_asset_name(static_asset_t a);
const char *static_asset_type(static_asset_t a);

#endif
