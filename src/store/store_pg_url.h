/* DATABASE_URL as the team shares it (Prisma's .env) made fit for libpq,
 * which refuses every query parameter it does not know. */
#ifndef AGENTOS_STORE_STORE_PG_URL_H
#define AGENTOS_STORE_STORE_PG_URL_H

#include <stddef.h>

/* Cleans url into *out (malloc'd; it may hold a password: secret_free it):
 * Prisma's own parameters are dropped, those libpq knows stay with libpq's
 * meaning. note gets what was dropped ("schema=public, connection_limit"),
 * for one line at start; "" when nothing was. Returns 0, or -1 with one line
 * in err that names DATABASE_URL and never holds the password. */
int store_pg_url_clean(const char *url, char **out, char *note, size_t notelen, char *err,
                       size_t errlen);

/* Is name one of Prisma's own parameters (schema, connection_limit, ...)? */
int store_pg_url_prisma_only(const char *name, size_t len);

#endif
