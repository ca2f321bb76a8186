/* Maps the served files once at start. Everything here runs on the main
 * thread before the loops start.
 *
 * Mapped, not read: the Swagger UI bundle alone is 1.7 MB, and copying it
 * into the heap made it a third of the idle service's private memory and
 * a read of every byte at each start. A read-only private mapping costs
 * page cache only while the pages are served. The files are the install's
 * own (a package or an image layer replaces them by rename, which leaves
 * the mapped inode alone); truncating one in place under a running server
 * is outside what we support, as it is for any mapped executable. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/static_files.h"
#include "core/log.h"

static const struct {
    const char *name;
    const char *type;
} assets[STATIC_ASSET_COUNT] = {
    [STATIC_ASSET_BUNDLE] = {"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
    [STATIC_ASSET_CSS] = {"swagger-ui.css", "text/css; charset=utf-8"},
};

const char *static_asset_name(static_asset_t a)
{
    return assets[a].name;
}

const char *static_asset_type(static_asset_t a)
{
    return assets[a].type;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int static_default_dir(char *out, size_t outlen)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    const char *bin = dirname(exe);
    char probe[4200];
    snprintf(probe, sizeof(probe), "%s/../share/agentos/openapi.json", bin);
    int w = is_file(probe) ? snprintf(out, outlen, "%s/../share/agentos", bin)
                           : snprintf(out, outlen, "%s/../docs", bin);
    return w > 0 && (size_t)w < outlen ? 0 : -1;
}

/* The whole file mapped read-only, at most max bytes, or -1 with the
 * reason in err. */
static int map_bounded(const char *path, size_t max, static_blob_t *b, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max ||
        st.st_size == 0) {
        snprintf(err, errlen, "%s: not a regular file of 1 to %zu bytes", path, max);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    void *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (data == MAP_FAILED) {
        snprintf(err, errlen, "%s: could not be mapped: %s", path, strerror(errno));
        return -1;
    }
    b->mapping = data;
    b->data = data;
    b->len = len;
    return 0;
}

static void blob_unmap(static_blob_t *b)
{
    if (b->mapping != NULL)
        munmap(b->mapping, b->len);
    b->mapping = NULL;
    b->data = NULL;
    b->len = 0;
}

static void load_docs(api_statics_t *s, const char *dir)
{
    char path[4200];
    for (int a = 0; a < STATIC_ASSET_COUNT; a++) {
        snprintf(path, sizeof(path), "%s/swagger-ui/%s", dir, assets[a].name);
        if (map_bounded(path, STATIC_ASSET_MAX, &s->assets[a], s->docs_error,
                        sizeof(s->docs_error)) != 0) {
            log_json(LOG_LEVEL_WARN, "/docs is off: the Swagger UI assets are missing",
                     json_pack("{s:s, s:s}", "error", s->docs_error, "hint",
                               "run scripts/bootstrap, or set AGENTOS_STATIC_DIR"));
            snprintf(s->docs_error, sizeof(s->docs_error),
                     "The Swagger UI assets are not installed on this server");
            return;
        }
    }
    s->docs_ready = 1;
}

void api_statics_load(api_statics_t *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    char path[4200];
    snprintf(path, sizeof(path), "%s/openapi.json", dir);
    if (map_bounded(path, STATIC_OPENAPI_MAX, &s->openapi, s->openapi_error,
                    sizeof(s->openapi_error)) != 0) {
        log_json(LOG_LEVEL_WARN, "/openapi.json is off: the document is missing",
                 json_pack("{s:s}", "error", s->openapi_error));
        snprintf(s->openapi_error, sizeof(s->openapi_error),
                 "The OpenAPI document is not installed on this server");
    }
    load_docs(s, dir);
}

void api_statics_free(api_statics_t *s)
{
    blob_unmap(&s->openapi);
    for (int a = 0; a < STATIC_ASSET_COUNT; a++)
        blob_unmap(&s->assets[a]);
    s->docs_ready = 0;
}
