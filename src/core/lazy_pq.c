/* libpq at its first call (core/lazy_lib.h): only a PostgreSQL
 * DATABASE_URL loads it (with Kerberos, LDAP, SASL and GnuTLS). */
#include <libpq-fe.h>

#include "core/lazy_lib.h"

#define PQ_NOT_LOADED "libpq could not be loaded\n"

/* The store's calls, then the tests' own (PQconnectdb, PQexec, PQbackendPID). */
#define LAZY_PQ(FN, FREE)                                                                          \
    FN(PGconn *, PQconnectdbParams,                                                                \
       (const char *const *keywords, const char *const *values, int expand_dbname),                \
       (keywords, values, expand_dbname), NULL)                                                    \
    FREE(PQfinish, (PGconn * c), (c))                                                              \
    FN(ConnStatusType, PQstatus, (const PGconn *c), (c), CONNECTION_BAD)                           \
    FN(PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c), PQTRANS_UNKNOWN)      \
    FN(char *, PQerrorMessage, (const PGconn *c), (c), PQ_NOT_LOADED)                              \
    FN(int, PQsocket, (const PGconn *c), (c), -1)                                                  \
    FN(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * c, PQnoticeProcessor p, void *arg),      \
       (c, p, arg), NULL)                                                                          \
    FN(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),                 \
       (conninfo, errmsg), NULL)                                                                   \
    FREE(PQconninfoFree, (PQconninfoOption * o), (o))                                              \
    FN(PGresult *, PQexecParams,                                                                   \
       (PGconn * c, const char *command, int n, const Oid *types, const char *const *values,       \
        const int *lengths, const int *formats, int result_format),                                \
       (c, command, n, types, values, lengths, formats, result_format), NULL)                      \
    FN(int, PQsendQueryParams,                                                                     \
       (PGconn * c, const char *command, int n, const Oid *types, const char *const *values,       \
        const int *lengths, const int *formats, int result_format),                                \
       (c, command, n, types, values, lengths, formats, result_format), 0)                         \
    FN(int, PQsendQuery, (PGconn * c, const char *q), (c, q), 0)                                   \
    FN(int, PQsendPrepare,                                                                         \
       (PGconn * c, const char *name, const char *query, int n, const Oid *types),                 \
       (c, name, query, n, types), 0)                                                              \
    FN(int, PQsendQueryPrepared,                                                                   \
       (PGconn * c, const char *name, int n, const char *const *values, const int *lengths,        \
        const int *formats, int result_format),                                                    \
       (c, name, n, values, lengths, formats, result_format), 0)                                   \
    FN(int, PQconsumeInput, (PGconn * c), (c), 0)                                                  \
    FN(int, PQisBusy, (PGconn * c), (c), 0)                                                        \
    FN(int, PQflush, (PGconn * c), (c), -1)                                                        \
    FN(PGresult *, PQgetResult, (PGconn * c), (c), NULL)                                           \
    FREE(PQclear, (PGresult * r), (r))                                                             \
    FREE(PQfreemem, (void *p), (p))                                                                \
    FN(ExecStatusType, PQresultStatus, (const PGresult *r), (r), PGRES_FATAL_ERROR)                \
    FN(char *, PQresultErrorMessage, (const PGresult *r), (r), PQ_NOT_LOADED)                      \
    FN(char *, PQresultErrorField, (const PGresult *r, int code), (r, code), NULL)                 \
    FN(char *, PQcmdTuples, (PGresult * r), (r), NULL)                                             \
    FN(int, PQntuples, (const PGresult *r), (r), 0)                                                \
    FN(int, PQnfields, (const PGresult *r), (r), 0)                                                \
    FN(char *, PQfname, (const PGresult *r, int i), (r, i), NULL)                                  \
    FN(Oid, PQftype, (const PGresult *r, int i), (r, i), 0)                                        \
    FN(int, PQgetisnull, (const PGresult *r, int row, int col), (r, row, col), 1)                  \
    FN(char *, PQgetvalue, (const PGresult *r, int row, int col), (r, row, col), NULL)             \
    FN(PGconn *, PQconnectdb, (const char *conninfo), (conninfo), NULL)                            \
    FN(PGresult *, PQexec, (PGconn * c, const char *q), (c, q), NULL)                              \
    FN(int, PQbackendPID, (const PGconn *c), (c), 0)

enum { LAZY_PQ(LAZY_ENUM, LAZY_FREE_ENUM) LAZY_N };
static const char *const lazy_names[LAZY_N] = {LAZY_PQ(LAZY_NAME, LAZY_FREE_NAME)};
static void *lazy_fn[LAZY_N];
static lazy_lib_t lazy_lib = LAZY_LIB_INIT(AGENTOS_SONAME_PQ, lazy_names, lazy_fn, LAZY_N, NULL);

LAZY_PQ(LAZY_DEFINE, LAZY_FREE_DEFINE)

int lazy_pq_loaded(void)
{
    return lazy_lib_loaded(&lazy_lib);
}
