/* PostgreSQL faults (src/store/store_pg.c): the database stopping and
 * coming back (through a TCP proxy the test can cut), a statement timeout,
 * a backend killed mid-query, a server that accepts but never answers, and
 * the schema checks. Cases that need a server run when TEST_DATABASE_URL
 * is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <poll.h>

#include "store/store_pg_stmt.h"
#include "test_store_support.h"

static PGconn *pg_of(const store_conn_t *c)
{
    return ((const store_pg_conn_t *)c->db)->pg;
}

/* ---- a TCP proxy the test can cut and restore ---- */

#define PROXY_MAX 64

typedef struct proxy {
    int listen_fd;
    int port;
    int target_port;
    int wake[2];
    uv_thread_t thread;
} proxy_t;

static int tcp_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Moves what one side sent to the other; 0 when the side closed. */
static int pump(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return 0;
        off += w;
    }
    return n > 0;
}

static void proxy_main(void *arg)
{
    proxy_t *p = arg;
    struct pollfd fds[2 + 2 * PROXY_MAX];
    int n = 2;
    fds[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
    for (;;) {
        if (poll(fds, (nfds_t)n, -1) < 0 || fds[0].revents)
            break;
        if ((fds[1].revents & POLLIN) && n + 2 <= 2 + 2 * PROXY_MAX) {
            int client = accept(p->listen_fd, NULL, NULL);
            int upstream = client >= 0 ? tcp_connect(p->target_port) : -1;
            if (upstream < 0) {
                if (client >= 0)
                    close(client);
            } else {
                fds[n++] = (struct pollfd){.fd = client, .events = POLLIN};
                fds[n++] = (struct pollfd){.fd = upstream, .events = POLLIN};
            }
        }
        for (int i = 2; i < n; i += 2) {
            int ok = 1;
            if (fds[i].revents)
                ok = pump(fds[i].fd, fds[i + 1].fd);
            if (ok && fds[i + 1].revents)
                ok = pump(fds[i + 1].fd, fds[i].fd);
            if (!ok) {
                close(fds[i].fd);
                close(fds[i + 1].fd);
                fds[i] = fds[n - 2];
                fds[i + 1] = fds[n - 1];
                n -= 2;
                i -= 2;
            }
        }
    }
    /* Cut: every connection through the proxy ends at once. */
    for (int i = 2; i < n; i++)
        close(fds[i].fd);
}

static void proxy_start(proxy_t *p, int port)
{
    p->listen_fd = tcp_listen(port);
    assert_true(p->listen_fd >= 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pipe(p->wake), 0);
    assert_int_equal(uv_thread_create(&p->thread, proxy_main, p), 0);
}

static void proxy_stop(proxy_t *p)
{
    assert_int_equal(write(p->wake[1], "x", 1), 1);
    uv_thread_join(&p->thread);
    close(p->listen_fd);
    close(p->wake[0]);
    close(p->wake[1]);
}

/* TEST_DATABASE_URL's port, and the same URL through port instead. */
static int url_via(int port, char *out, size_t n)
{
    PQconninfoOption *opts = PQconninfoParse(fx_pg_url(), NULL);
    const char *user = "postgres", *db = "agentos_test";
    int target = 5432;
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            target = atoi(o->val);
    }
    snprintf(out, n, "postgresql://%s@127.0.0.1:%d/%s", user, port, db);
    PQconninfoFree(opts);
    return target;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    if (fx_pg_url() == NULL)
        return 0;
    return fx_setup_pg(state);
}

static int teardown(void **state)
{
    return F != NULL ? fx_teardown(state) : 0;
}

static void need_pg(void)
{
    if (F == NULL)
        skip();
}

static double since(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / 1e9;
}

/* ---- no server needed ---- */

static void test_schema_names(void **state)
{
    (void)state;
    const char *bad[] = {"Agentos",
                         "1abc",
                         "a-b",
                         "a b",
                         "agentos\"; DROP",
                         "pg_mine",
                         "",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_config_t cfg = {.database_url = "postgres://nobody@127.0.0.1:1/x", .schema = bad[i]};
        char err[256] = "";
        store_t *s = store_open(&cfg, err, sizeof err);
        if (bad[i][0] == '\0') {
            /* Empty means the default, so this one gets as far as connecting. */
            assert_null(s);
            continue;
        }
        assert_null(s);
        assert_non_null(strstr(err, "DATABASE_SCHEMA"));
    }
    store_config_t mysql = {.database_url = "mysql://root@localhost/x"};
    char err[256] = "";
    assert_null(store_open(&mysql, err, sizeof err));
    assert_non_null(strstr(err, "postgres://"));
}

/* A server that accepts the connection and never answers: the connect
 * timeout ends the wait. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int fd = tcp_listen(0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    char url[128];
    snprintf(url, sizeof url, "postgres://postgres@127.0.0.1:%d/x?sslmode=disable",
             ntohs(a.sin_port));
    store_config_t cfg = {.database_url = url, .connect_timeout_s = 1};
    char err[256] = "";
    uint64_t t0 = uv_hrtime();
    assert_null(store_open(&cfg, err, sizeof err));
    double secs = since(t0);
    close(fd);
    /* libpq's floor is 2 s. */
    assert_true(secs >= 1.5);
    assert_true(secs < 6.0);
    assert_true(err[0] != '\0');
}

/* ---- with a server ---- */

/* Tables live in the configured schema; two schemas never see each other. */
static void test_schema_separation(void **state)
{
    (void)state;
    need_pg();
    PGconn *pg = PQconnectdb(fx_pg_url());
    const char *vals[] = {F->loc.schema};
    PGresult *r = PQexecParams(pg,
                               "SELECT table_name FROM information_schema.tables"
                               " WHERE table_schema = $1 ORDER BY table_name",
                               1, NULL, vals, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    const char *want[] = {"os_meta",  "run_owners",  "runs",       "schema_migrations",
                          "sessions", "usage_daily", "usage_users"};
    assert_int_equal(PQntuples(r), 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(PQgetvalue(r, i, 0), want[i]);
    PQclear(r);
    PQfinish(pg);

    fx_location_t other;
    store_config_t cfg = fx_fresh_location(&other);
    char err[256];
    store_t *s2 = store_open(&cfg, err, sizeof err);
    assert_non_null(s2);
    store_conn_t *c2 = store_conn_get(s2);
    json_t *sess = json_pack("{s:s}", "session_id", "in-a");
    assert_int_equal(store_session_create(F->conn, "ws", sess, NULL), STORE_OK);
    assert_int_equal(store_session_get(c2, "ws", "in-a", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_session_create(c2, "ws", sess, NULL), STORE_OK);
    json_decref(sess);
    store_close(s2);
    fx_drop_location(&other);
}

/* A statement over statement_timeout fails as unavailable, on time, and
 * the connection stays usable. */
static void test_statement_timeout(void **state)
{
    (void)state;
    need_pg();
    store_config_t cfg = F->cfg;
    cfg.statement_timeout_ms = 300;
    char err[256];
    store_t *s = store_open(&cfg, err, sizeof err);
    assert_non_null(s);
    store_conn_t *c = store_conn_get(s);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(store_sql_run(c, "SELECT pg_sleep(5)"), STORE_UNAVAILABLE);
    assert_true(since(t0) < 2.0);
    assert_false(c->broken);
    assert_int_equal(store_ping(c), STORE_OK);
    /* An ordinary SQL error is an error, and keeps the connection. */
    assert_int_equal(store_sql_run(c, "SELECT * FROM {S}no_such_table"), STORE_ERROR);
    assert_false(c->broken);
    assert_int_equal(store_ping(c), STORE_OK);
    store_close(s);
}

static void terminate(int pid)
{
    PGconn *pg = PQconnectdb(fx_pg_url());
    char p[16];
    snprintf(p, sizeof p, "%d", pid);
    const char *vals[] = {p};
    PGresult *r =
        PQexecParams(pg, "SELECT pg_terminate_backend($1::int)", 1, NULL, vals, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(pg);
}

/* An idle connection the server ended is replaced before it is handed out. */
static void test_idle_connection_killed(void **state)
{
    (void)state;
    need_pg();
    int pid = PQbackendPID(pg_of(F->conn));
    terminate(pid);
    usleep(100000);
    store_conn_t *c = store_conn_get(F->store);
    assert_non_null(c);
    assert_int_equal(store_ping(c), STORE_OK);
    assert_int_not_equal(PQbackendPID(pg_of(c)), pid);
    F->conn = c;
}

typedef struct sleeper {
    store_t *store;
    uv_barrier_t *ready;
    int pid;
    store_rc_t rc;
    int broken;
    store_rc_t after;
} sleeper_t;

static void sleeper_main(void *arg)
{
    sleeper_t *s = arg;
    store_conn_t *c = store_conn_get(s->store);
    s->pid = PQbackendPID(pg_of(c));
    uv_barrier_wait(s->ready);
    s->rc = store_sql_run(c, "SELECT pg_sleep(3)");
    s->broken = c->broken;
    s->after = store_ping(store_conn_get(s->store));
}

/* A query whose connection dies under it fails as unavailable and marks
 * the connection, so the next call reconnects. */
static void test_connection_dies_mid_query(void **state)
{
    (void)state;
    need_pg();
    uv_barrier_t ready;
    uv_barrier_init(&ready, 2);
    sleeper_t s = {.store = F->store, .ready = &ready};
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, sleeper_main, &s), 0);
    uv_barrier_wait(&ready);
    usleep(300000);
    terminate(s.pid);
    uv_thread_join(&t);
    uv_barrier_destroy(&ready);
    assert_int_equal(s.rc, STORE_UNAVAILABLE);
    assert_true(s.broken);
    assert_int_equal(s.after, STORE_OK);
}

typedef struct outage {
    int done;
    int unavailable;
    int ok;
} outage_t;

static store_rc_t ping_work(store_conn_t *c, void *data)
{
    (void)data;
    return store_ping(c);
}

static void count_done(store_rc_t rc, void *data)
{
    outage_t *o = data;
    o->done++;
    o->unavailable += rc == STORE_UNAVAILABLE;
    o->ok += rc == STORE_OK;
}

static outage_t submit_pings(store_t *s, int n)
{
    uv_loop_t loop;
    outage_t o = {0};
    uv_loop_init(&loop);
    for (int i = 0; i < n; i++)
        assert_int_equal(store_submit(s, &loop, ping_work, count_done, &o), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return o;
}

/* PostgreSQL goes away and comes back while the store runs: requests get
 * STORE_UNAVAILABLE quickly, nothing hangs, and the store recovers with
 * no restart. */
static void test_outage_and_recovery(void **state)
{
    (void)state;
    need_pg();
    proxy_t p;
    char url[512];
    p.target_port = url_via(0, url, sizeof url);
    proxy_start(&p, 0);
    url_via(p.port, url, sizeof url);
    store_config_t cfg = F->cfg;
    cfg.database_url = url;
    cfg.connect_timeout_s = 1;
    char err[256];
    store_t *s = store_open(&cfg, err, sizeof err);
    if (s == NULL)
        fail_msg("open through the proxy: %s", err);
    store_conn_t *c = store_conn_get(s);
    json_t *sess = json_pack("{s:s}", "session_id", "acked");
    assert_int_equal(store_session_create(c, "ws-outage", sess, NULL), STORE_OK);
    json_decref(sess);
    outage_t up = submit_pings(s, 16);
    assert_int_equal(up.ok, 16);

    proxy_stop(&p);
    uint64_t t0 = uv_hrtime();
    outage_t down = submit_pings(s, 16);
    assert_int_equal(down.done, 16);
    assert_int_equal(down.unavailable, 16);
    assert_true(since(t0) < 3.0);
    assert_int_equal(store_session_get(store_conn_get(s), "ws-outage", "acked", NULL),
                     STORE_UNAVAILABLE);

    proxy_start(&p, p.port);
    usleep(300000); /* past the reconnect back-off */
    outage_t back = submit_pings(s, 16);
    assert_int_equal(back.ok, 16);
    c = store_conn_get(s);
    assert_non_null(c);
    assert_int_equal(store_session_get(c, "ws-outage", "acked", NULL), STORE_OK);
    store_close(s);
    proxy_stop(&p);
}

typedef struct racer {
    const store_config_t *cfg;
    uv_barrier_t *start;
    store_t *store;
    char err[256];
    int index;
    store_rc_t meta_rc;
    char os_id[STORE_META_VALUE_MAX + 1];
} racer_t;

/* Each replica then offers an os_id of its own: every one must come back
 * with the same (the first insert's). */
static void racer_main(void *arg)
{
    racer_t *r = arg;
    uv_barrier_wait(r->start);
    r->store = store_open(r->cfg, r->err, sizeof r->err);
    if (r->store == NULL)
        return;
    char candidate[32];
    snprintf(candidate, sizeof candidate, "replica-%d", r->index);
    r->meta_rc = store_meta_get_or_set(store_conn_get(r->store), "os_id", candidate, r->os_id);
}

/* Six replicas migrating one fresh schema at once: the advisory lock lets
 * one migrate; the others find the work done. They agree on one os_id. */
static void test_many_replicas_migrate(void **state)
{
    (void)state;
    need_pg();
    enum { N = 6 };
    fx_location_t loc;
    store_config_t cfg = fx_fresh_location(&loc);
    uv_barrier_t start;
    uv_barrier_init(&start, N);
    racer_t r[N];
    uv_thread_t t[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer_t){.cfg = &cfg, .start = &start, .index = i};
        assert_int_equal(uv_thread_create(&t[i], racer_main, &r[i]), 0);
    }
    for (int i = 0; i < N; i++)
        uv_thread_join(&t[i]);
    uv_barrier_destroy(&start);
    for (int i = 0; i < N; i++) {
        if (r[i].store == NULL)
            fail_msg("replica %d: %s", i, r[i].err);
        assert_int_equal(r[i].meta_rc, STORE_OK);
        assert_string_equal(r[i].os_id, r[0].os_id);
        assert_non_null(strstr(r[i].os_id, "replica-"));
        store_close(r[i].store);
    }
    fx_drop_location(&loc);
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_schema_names),
        cmocka_unit_test(test_connect_timeout),
    };
    const struct CMUnitTest online[] = {
        cmocka_unit_test(test_schema_separation),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_idle_connection_killed),
        cmocka_unit_test(test_connection_dies_mid_query),
        cmocka_unit_test(test_outage_and_recovery),
        cmocka_unit_test(test_many_replicas_migrate),
    };
    int failed = cmocka_run_group_tests_name("store_pg/offline", offline, NULL, NULL);
    if (fx_pg_url() == NULL) {
        printf("[  SKIPPED ] store_pg/server: TEST_DATABASE_URL is not set "
               "(tests/support/pg_start.sh DIR prints one)\n");
        return failed;
    }
    failed += cmocka_run_group_tests_name("store_pg/server", online, setup, teardown);
    return failed;
}
