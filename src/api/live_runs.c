#include <stdlib.h>
#include <string.h>

#include "api/live_runs.h"
#include "core/list.h"

typedef struct entry {
    char *ws, *agent_id, *run_id;
    live_inbox_t *inbox;
    list_t link; /* in live_runs's entries, newest first */
} entry_t;

struct live_runs {
    uv_mutex_t mu;
    list_t entries;
    size_t count;
};

typedef struct note {
    char *run_id;
    list_t link; /* in the inbox's notes, newest first */
} note_t;

struct live_inbox {
    uv_async_t async;
    uv_mutex_t mu;
    list_t notes;
    live_cancel_fn on_cancel;
    void *loop_data;
};

live_runs_t *live_runs_new(void)
{
    live_runs_t *lr = calloc(1, sizeof(*lr));
    if (lr != NULL) {
        uv_mutex_init(&lr->mu);
        list_init(&lr->entries);
    }
    return lr;
}

static void entry_free(entry_t *e)
{
    free(e->ws);
    free(e->agent_id);
    free(e->run_id);
    free(e);
}

void live_runs_free(live_runs_t *lr)
{
    if (lr == NULL)
        return;
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &lr->entries) {
        list_remove(node);
        entry_free(LIST_ENTRY(node, entry_t, link));
    }
    uv_mutex_destroy(&lr->mu);
    free(lr);
}

static void note_free(note_t *n)
{
    free(n->run_id);
    free(n);
}

static void on_notes(uv_async_t *a)
{
    live_inbox_t *in = a->data;
    list_t taken;
    list_init(&taken);
    uv_mutex_lock(&in->mu);
    list_move(&in->notes, &taken);
    uv_mutex_unlock(&in->mu);
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &taken) {
        note_t *n = LIST_ENTRY(node, note_t, link);
        list_remove(node);
        in->on_cancel(in->loop_data, n->run_id);
        note_free(n);
    }
}

live_inbox_t *live_inbox_new(uv_loop_t *loop, live_cancel_fn on_cancel, void *loop_data)
{
    live_inbox_t *in = calloc(1, sizeof(*in));
    if (in == NULL)
        return NULL;
    uv_mutex_init(&in->mu);
    list_init(&in->notes);
    in->on_cancel = on_cancel;
    in->loop_data = loop_data;
    in->async.data = in;
    uv_async_init(loop, &in->async, on_notes);
    return in;
}

static void on_inbox_closed(uv_handle_t *h)
{
    live_inbox_t *in = h->data;
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &in->notes) {
        list_remove(node);
        note_free(LIST_ENTRY(node, note_t, link));
    }
    uv_mutex_destroy(&in->mu);
    free(in);
}

void live_inbox_close(live_inbox_t *in)
{
    uv_close((uv_handle_t *)&in->async, on_inbox_closed);
}

int live_runs_add(live_runs_t *lr, const char *workspace, const char *agent_id, const char *run_id,
                  live_inbox_t *in, int max)
{
    entry_t *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->ws = strdup(workspace)) == NULL ||
        (e->agent_id = strdup(agent_id)) == NULL || (e->run_id = strdup(run_id)) == NULL) {
        if (e != NULL)
            entry_free(e);
        return -1;
    }
    e->inbox = in;
    uv_mutex_lock(&lr->mu);
    int n = 0;
    list_t *node;
    LIST_FOREACH(node, &lr->entries)
        n += strcmp(LIST_ENTRY(node, entry_t, link)->ws, workspace) == 0;
    int ok = n < max;
    if (ok) {
        list_insert_head(&lr->entries, &e->link);
        lr->count++;
    }
    uv_mutex_unlock(&lr->mu);
    if (!ok)
        entry_free(e);
    return ok ? 0 : -1;
}

void live_runs_remove(live_runs_t *lr, const char *run_id)
{
    uv_mutex_lock(&lr->mu);
    list_t *node;
    LIST_FOREACH(node, &lr->entries) {
        entry_t *e = LIST_ENTRY(node, entry_t, link);
        if (strcmp(e->run_id, run_id) == 0) {
            list_remove(node);
            lr->count--;
            entry_free(e);
            break;
        }
    }
    uv_mutex_unlock(&lr->mu);
}

int live_runs_cancel(live_runs_t *lr, const char *workspace, const char *agent_id,
                     const char *run_id)
{
    note_t *n = calloc(1, sizeof(*n));
    if (n == NULL || (n->run_id = strdup(run_id)) == NULL) {
        free(n);
        return 0;
    }
    int sent = 0;
    uv_mutex_lock(&lr->mu);
    list_t *node;
    LIST_FOREACH(node, &lr->entries) {
        entry_t *e = LIST_ENTRY(node, entry_t, link);
        if (strcmp(e->run_id, run_id) != 0 || strcmp(e->ws, workspace) != 0 ||
            (agent_id != NULL && strcmp(e->agent_id, agent_id) != 0))
            continue;
        live_inbox_t *in = e->inbox;
        uv_mutex_lock(&in->mu);
        list_insert_head(&in->notes, &n->link);
        uv_mutex_unlock(&in->mu);
        uv_async_send(&in->async);
        sent = 1;
        break;
    }
    uv_mutex_unlock(&lr->mu);
    if (!sent)
        note_free(n);
    return sent;
}

size_t live_runs_count(live_runs_t *lr)
{
    uv_mutex_lock(&lr->mu);
    size_t n = lr->count;
    uv_mutex_unlock(&lr->mu);
    return n;
}
