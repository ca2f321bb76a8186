/* The checkpoint thread (store_sqlite_ckpt.h). */
#include "store/store_sqlite_ckpt.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/store_internal.h"

struct store_ckpt {
    store_t *store;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    int stop, kick; /* under mu */
    unsigned interval_ms, every_commits;
    uint64_t done_at; /* the store's commits at the last checkpoint (thread only) */
    sqlite3 *db;      /* thread only; opened on first need, reopened after an error */
    _Atomic uint64_t runs;
};

static void close_db(store_ckpt_t *k)
{
    sqlite3_close(k->db);
    k->db = NULL;
}

static int open_db(store_ckpt_t *k)
{
    if (k->db != NULL)
        return 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    /* A connection learns the file is in WAL mode by reading it; until
     * then a checkpoint does nothing (and reports -1 frames). */
    if (sqlite3_open_v2(k->store->path, &k->db, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(k->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
        close_db(k);
        return -1;
    }
    return 0;
}

/* Only when there is something new: an idle store costs nothing. */
static void checkpoint(store_ckpt_t *k)
{
    uint64_t commits = atomic_load(&k->store->commits);
    if (commits == k->done_at || open_db(k) != 0)
        return;
    int frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    atomic_fetch_add(&k->runs, 1);
    if (rc == SQLITE_OK) {
        /* Frames a reader pinned are tried again next turn. */
        if (copied >= frames)
            k->done_at = commits;
        return;
    }
    /* Left to the next turn; a connection in error is reopened then. */
    log_msg(LOG_LEVEL_DEBUG, "store: sqlite checkpoint %d (%d of %d frames)", rc, copied, frames);
    if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
        close_db(k);
}

static void ckpt_main(void *arg)
{
    store_ckpt_t *k = arg;
    uv_mutex_lock(&k->mu);
    while (!k->stop) {
        if (!k->kick)
            uv_cond_timedwait(&k->cond, &k->mu, (uint64_t)k->interval_ms * 1000000u);
        k->kick = 0;
        if (k->stop)
            break;
        uv_mutex_unlock(&k->mu);
        checkpoint(k);
        uv_mutex_lock(&k->mu);
    }
    uv_mutex_unlock(&k->mu);
    close_db(k);
}

store_ckpt_t *store_ckpt_start(store_t *s, unsigned interval_ms, unsigned every_commits)
{
    store_ckpt_t *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->store = s;
    k->interval_ms = interval_ms > 0 ? interval_ms : STORE_CKPT_INTERVAL_MS;
    k->every_commits = every_commits > 0 ? every_commits : STORE_CKPT_EVERY_COMMITS;
    if (uv_mutex_init(&k->mu) != 0) {
        free(k);
        return NULL;
    }
    if (uv_cond_init(&k->cond) != 0) {
        uv_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    if (uv_thread_create(&k->thread, ckpt_main, k) != 0) {
        uv_cond_destroy(&k->cond);
        uv_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    return k;
}

void store_ckpt_committed(store_ckpt_t *k, uint64_t commits)
{
    if (k == NULL || commits % k->every_commits != 0)
        return;
    uv_mutex_lock(&k->mu);
    k->kick = 1;
    uv_cond_signal(&k->cond);
    uv_mutex_unlock(&k->mu);
}

uint64_t store_ckpt_runs(const store_ckpt_t *k)
{
    return k != NULL ? atomic_load(&k->runs) : 0;
}

void store_ckpt_stop(store_ckpt_t *k)
{
    if (k == NULL)
        return;
    uv_mutex_lock(&k->mu);
    k->stop = 1;
    uv_cond_signal(&k->cond);
    uv_mutex_unlock(&k->mu);
    uv_thread_join(&k->thread);
    uv_cond_destroy(&k->cond);
    uv_mutex_destroy(&k->mu);
    free(k);
}
