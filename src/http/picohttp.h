/* picohttpparser, the request parser h2o itself uses. libh2o exports it but
 * Debian installs no header for it: these declarations follow the copy in
 * h2o 2.2.5 (deps/picohttpparser). Parsing with h2o's own parser means the
 * head guard and h2o never disagree on where a head ends. */
#ifndef AGENTOS_HTTP_PICOHTTP_H
#define AGENTOS_HTTP_PICOHTTP_H

#include <stddef.h>

/* name == NULL for a continuation (obs-fold) line */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The head's length when complete, -2 when partial, -1 when malformed (or
 * with more than *num_headers headers). */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

#endif
