/* The Redis client's commands: submission, replies, and the list of those
 * in flight with their deadlines. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache/redis_internal.h"
#include "core/counters.h"

/* ---- the list of commands in flight ---- */

static void cmd_append(redis_conn_t *conn, redis_cmd_t *cmd)
{
    list_insert_tail(&conn->cmds, &cmd->link);
    if (!conn->first_pending)
        conn->first_pending = cmd;
}

static void cmd_unlink(redis_conn_t *conn, redis_cmd_t *cmd)
{
    if (conn->first_pending == cmd)
        conn->first_pending = redis_cmd_of(list_next(&conn->cmds, &cmd->link));
    list_remove(&cmd->link);
}

/* The timer is due at the earliest command deadline, or when the oldest
 * unanswered command would prove the connection dead. */
void redis_cmd_timer_arm(redis_conn_t *conn)
{
    redis_client_t *c = conn->client;
    uint64_t due = UINT64_MAX;
    if (c->closing)
        return;
    redis_cmd_t *oldest = redis_cmd_of(list_first(&conn->cmds));
    if (conn->first_pending)
        due = conn->first_pending->deadline_ms;
    if (oldest && oldest->sent_ms + (uint64_t)c->opt.dead_after_ms < due)
        due = oldest->sent_ms + (uint64_t)c->opt.dead_after_ms;
    if (due == UINT64_MAX) {
        uv_timer_stop(&conn->cmd_timer);
        conn->timer_due = 0;
        return;
    }
    if (due == conn->timer_due && uv_is_active((uv_handle_t *)&conn->cmd_timer))
        return;
    uint64_t now = redis_mono_ms();
    /* At least 1 ms: libuv 1.44 would run a 0 ms timer started from a timer
     * callback again in the same pass, before reading any socket. */
    uv_timer_start(&conn->cmd_timer, redis_on_cmd_timer, due > now ? due - now : 1, 0);
    conn->timer_due = due;
}

void redis_cmd_fail_pending(redis_conn_t *conn, redis_cmd_status_t status)
{
    redis_cmd_t *cmd;
    while ((cmd = conn->first_pending) != NULL) {
        conn->first_pending = redis_cmd_of(list_next(&conn->cmds, &cmd->link));
        cmd->done = 1;
        if (status != REDIS_CMD_CLOSED)
            counters_redis_error();
        cmd->cb(status, NULL, cmd->data);
    }
}

/* ---- commands ---- */

static void on_cmd_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    redis_cmd_t *cmd = privdata;
    redis_conn_t *conn = cmd->conn;
    cmd_unlink(conn, cmd);
    /* With a NULL reply the context is going away; hiredis already refuses
     * new commands on it (DISCONNECTING or FREEING), so the callback below
     * gets -1 if it tries. */
    if (!cmd->done) {
        cmd->done = 1;
        if (r == NULL || ((redisReply *)r)->type == REDIS_REPLY_ERROR)
            counters_redis_error();
        cmd->cb(r ? REDIS_CMD_OK : REDIS_CMD_DISCONNECTED, r, cmd->data);
    }
    free(cmd);
    redis_cmd_timer_arm(conn);
}

/* The connection is shared: commands that switch it into another mode, and
 * whose replies are not one per command, would break every other user. */
static int is_mode_command(const char *name, size_t len)
{
    static const char *const names[] = {"subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
                                        "punsubscribe", "sunsubscribe", "monitor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

/* The first argument of a RESP command "*N\r\n$L\r\nNAME\r\n..."; 1 when it
 * is a mode command or unreadable. */
static int formatted_is_mode_command(const char *cmd, size_t len)
{
    const char *p = memchr(cmd, '$', len);
    if (!p)
        return 1;
    char *end;
    long n = strtol(p + 1, &end, 10);
    size_t at = (size_t)(end - cmd) + 2;
    if (n < 0 || at + (size_t)n > len || end[0] != '\r')
        return 1;
    return is_mode_command(end + 2, (size_t)n);
}

static int submit_formatted(redis_client_t *c, redis_reply_cb cb, void *data, const char *buf,
                            size_t len)
{
    redis_conn_t *conn = &c->cmd;
    if (formatted_is_mode_command(buf, len))
        return -1;
    redis_cmd_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return -1;
    cmd->conn = conn;
    cmd->cb = cb;
    cmd->data = data;
    cmd->sent_ms = redis_mono_ms();
    cmd->seq = ++conn->next_seq;
    cmd->deadline_ms = cmd->sent_ms + (uint64_t)c->opt.command_timeout_ms;
    if (redisAsyncFormattedCommand(conn->ac, on_cmd_reply, cmd, buf, len) != REDIS_OK) {
        free(cmd);
        return -1;
    }
    cmd_append(conn, cmd);
    redis_cmd_timer_arm(conn);
    return 0;
}

int redis_client_command(redis_client_t *c, redis_reply_cb cb, void *data, const char *fmt, ...)
{
    if (!cb || !fmt || !redis_client_connected(c))
        return -1;
    char *buf = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&buf, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -1;
    int rc = submit_formatted(c, cb, data, buf, (size_t)len);
    redisFreeCommand(buf);
    return rc;
}

int redis_client_command_argv(redis_client_t *c, redis_reply_cb cb, void *data, int argc,
                              const char **argv, const size_t *argvlen)
{
    if (!cb || argc < 1 || !argv || !redis_client_connected(c))
        return -1;
    char *buf = NULL;
    int len = redisFormatCommandArgv(&buf, argc, argv, argvlen);
    if (len < 0)
        return -1;
    int rc = submit_formatted(c, cb, data, buf, (size_t)len);
    redisFreeCommand(buf);
    return rc;
}
