/* What the store's files share: the store and connection structs, the
 * back-end vtable, and the SQL builder. Not for code outside src/store (the
 * store's own unit tests use it to reach under the public interface).
 *
 * The queries themselves are written once (store_sessions.c, store_runs.c,
 * store_usage.c) against the vtable's exec, so both back ends run the same
 * SQL and cannot drift apart in semantics. A back end only knows how to
 * connect, run one parameterised statement, and map its errors. */
#ifndef AGENTOS_STORE_STORE_INTERNAL_H
#define AGENTOS_STORE_STORE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/list.h"
#include "store/store.h"

#define STORE_SCHEMA_MAX 63 /* PostgreSQL's NAMEDATALEN - 1 */
#define STORE_SQL_MAX 2048
#define STORE_SQL_PARAMS 24

typedef enum { STORE_P_NULL = 0, STORE_P_TEXT, STORE_P_INT } store_ptype_t;

typedef struct store_param {
    store_ptype_t type;
    const char *text;
    long long num;
} store_param_t;

/* One versioned migration: statements run in order, in one transaction. */
typedef struct store_migration {
    int version;
    const char *const *stmts; /* NULL-terminated; "{S}" is the table prefix */
} store_migration_t;

typedef struct store_backend {
    const char *name;
    const char *ilike;                   /* case-insensitive LIKE */
    char placeholder;                    /* '$' (PostgreSQL $1) or '?' (SQLite ?1) */
    int write_tx;                        /* wrap even one-statement writes in a transaction */
    int migration_tx_each;               /* one transaction per migration (else the lock is one) */
    const store_migration_t *migrations; /* ends with {0, NULL} */

    /* Back-end part of store_open: check the config, fill s's fields. */
    int (*init)(store_t *s, const store_config_t *cfg, char *err, size_t errlen);
    /* A new native connection (PGconn *, sqlite3 *), or NULL with err set. */
    void *(*connect)(const store_t *s, int statement_timeout_ms, char *err, size_t errlen);
    void (*disconnect)(void *db);
    /* Cheap, non-blocking check before a connection is handed out. */
    int (*alive)(store_conn_t *c);
    /* Runs one statement. Appends result rows (objects) to rows when it is
     * not NULL; *changes gets the rows changed when it is not NULL. */
    store_rc_t (*exec)(store_conn_t *c, const char *sql, const store_param_t *p, int n,
                       json_t *rows, long long *changes);
    store_rc_t (*begin)(store_conn_t *c);
    store_rc_t (*commit)(store_conn_t *c);
    void (*rollback)(store_conn_t *c);
    /* Serialises migrations across processes; ok says whether to keep them. */
    store_rc_t (*migrate_lock)(store_conn_t *c);
    store_rc_t (*migrate_unlock)(store_conn_t *c, int ok);
    /* Under the lock: makes sure the schema exists; nocreate gets the line
     * to give if a migration is pending and this role may not create
     * tables ("" when it may). -1 and one line in err naming what is
     * missing. NULL: nothing to check (SQLite). */
    int (*migrate_prepare)(store_conn_t *c, char *nocreate, size_t nlen, char *err, size_t errlen);
    /* Once the schema is current: the privileges the service's work needs,
     * or -1 and one line naming the first one missing. NULL: none. */
    int (*check_access)(store_conn_t *c, char *err, size_t errlen);
} store_backend_t;

struct store {
    const store_backend_t *be;
    uint64_t id; /* never reused, unlike the address: keys the thread caches */
    char *url;   /* PostgreSQL */
    char *path;  /* SQLite file */
    char schema[STORE_SCHEMA_MAX + 1];
    char prefix[STORE_SCHEMA_MAX + 4]; /* "\"schema\"." or "" */
    int connect_timeout_s;
    int statement_timeout_ms;
    _Atomic uint64_t up_at_us;          /* monotonic: a thread's last successful connect */
    _Atomic int queued;                 /* jobs submitted, done not yet run (store_submit.c) */
    _Atomic int queue_max;              /* store_submit_bounded refuses at this many; <= 0: none */
    _Atomic uint64_t unavailable_at_us; /* monotonic: the last job that met no database */
    _Atomic uint64_t commits;           /* store_tx_commit's; paces WAL checkpoints */
    struct store_ckpt *ckpt;            /* SQLite: the checkpoint thread */
    uv_mutex_t write_mu;                /* SQLite: held by the one write transaction */
    uv_mutex_t lane_mu;                 /* guards lanes (store_lane.c) */
    list_t lanes;                       /* per loop: the jobs waiting for a pump */
    uv_mutex_t mu;                      /* guards conns */
    list_t conns;                       /* the threads' store_conn_t, by their link */
};

struct store_conn {
    store_t *store;
    uv_thread_t owner;
    void *db; /* NULL while disconnected */
    int broken;
    int down;              /* the last connect failed: log only changes of state */
    uint64_t retry_at_us;  /* monotonic; no new connect before it... */
    uint64_t failed_at_us; /* ...unless another thread connected after this */
    int in_tx;
    char last_error[256]; /* the back end's last error, for start-up messages */
    list_t link;          /* in store->conns; unlinked for a private connection */
};

extern const store_backend_t store_pg_backend;
extern const store_backend_t store_sqlite_backend;
extern const store_migration_t store_pg_migrations[];
extern const store_migration_t store_sqlite_migrations[];

/* PostgreSQL's migrate_prepare and check_access (store_pg_access.c). */
int store_pg_migrate_prepare(store_conn_t *c, char *nocreate, size_t nlen, char *err,
                             size_t errlen);
int store_pg_check_access(store_conn_t *c, char *err, size_t errlen);

/* ---- connections (store_conn.c) ---- */

/* A connection not tied to a thread (migrations at open); free with
 * store_conn_free. */
store_conn_t *store_conn_new_private(store_t *s, int statement_timeout_ms, char *err,
                                     size_t errlen);
void store_conn_free(store_conn_t *c);
void store_conn_close_all(store_t *s);
/* Marks c for a reconnect on its next store_conn_get. */
void store_conn_mark_broken(store_conn_t *c);
/* The check at the top of every data call: STORE_UNAVAILABLE without a
 * connection, STORE_ERROR without a workspace. */
store_rc_t store_check(const store_conn_t *c, const char *ws);

/* ---- SQL builder and execution (store_sql.c) ---- */

/* Statement text plus its parameters. Templates use "{S}" for the table
 * prefix and "?" for each parameter, bound in the same order; so a template
 * never holds a literal '?' (no jsonb ? operator: use jsonb_exists). */
typedef struct store_sql {
    const store_t *s;
    char text[STORE_SQL_MAX];
    size_t len;
    int nmarks; /* placeholders written */
    int n;      /* parameters bound */
    store_param_t params[STORE_SQL_PARAMS];
    char *owned[STORE_SQL_PARAMS];
    int nowned;
    int bad; /* overflow or out of memory: exec refuses */
} store_sql_t;

void store_sql_init(store_sql_t *q, const store_t *s);
void store_sql_add(store_sql_t *q, const char *tmpl);
void store_sql_text(store_sql_t *q, const char *v); /* NULL: SQL NULL; v must outlive exec */
void store_sql_int(store_sql_t *q, long long v);
void store_sql_json(store_sql_t *q, const json_t *v); /* NULL or null: SQL NULL */
void store_sql_like(store_sql_t *q, const char *substring);
void store_sql_free(store_sql_t *q);

/* Runs q (and frees it). rows, if not NULL, gets a new array. */
/* The first row of rows (taking them), or if_none when there is none. */
store_rc_t store_one_row(store_rc_t rc, json_t *rows, store_rc_t if_none, json_t **out);
/* One row by key: tmpl selects "WHERE workspace_id = ? AND <key> = ?". */
store_rc_t store_get_row(store_conn_t *c, const char *ws, const char *tmpl, const char *id,
                         json_t **out);
store_rc_t store_sql_exec(store_conn_t *c, store_sql_t *q, json_t **rows, long long *changes);
/* One statement that writes, in a write transaction where the back end
 * wants one. */
store_rc_t store_sql_write(store_conn_t *c, store_sql_t *q, json_t **rows, long long *changes);
/* Runs one fixed template without parameters. */
store_rc_t store_sql_run(store_conn_t *c, const char *tmpl);
uint64_t store_now_ms(void);

store_rc_t store_tx_begin(store_conn_t *c);
store_rc_t store_tx_commit(store_conn_t *c);
void store_tx_rollback(store_conn_t *c);

/* ---- migrations (store_migrate.c) ---- */

int store_migrate(store_conn_t *c, char *err, size_t errlen);

/* ---- rows and JSON (store_json.c) ---- */

int store_json_column(const char *name); /* is this column JSON? */
/* A column's value from its text, decoded as JSON for JSON columns. */
json_t *store_json_value(const char *name, const char *text);
/* A string field of obj: 0 and *out (NULL when absent or null) if it is a
 * string or absent, -1 otherwise. */
int store_json_str(const json_t *obj, const char *key, const char **out);
/* Returns rows[0] (a new reference) and drops rows; NULL when empty. */
json_t *store_json_first(json_t *rows);

#endif
