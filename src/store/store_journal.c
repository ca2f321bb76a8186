/* The run journal's file: appends that are fsync'd before they count, and
 * a replay that tolerates the torn last line of a crash. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store_journal.h"

int store_journal_path(const char *dir, char *out, size_t outlen)
{
    int n =
        snprintf(out, outlen, "%s/%s", dir != NULL && dir[0] ? dir : "data", STORE_JOURNAL_NAME);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new file's name is durable only once its directory is synced. */
static int sync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int open_journal(const char *path, int *created)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    *created = 0;
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    if (mkdir(dirname(copy), 0700) != 0 && errno != EEXIST)
        return -1;
    *created = 1;
    return open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* A torn last line from a crash must not swallow the next record: the
 * bytes added (0 or 1), or -1. */
static int end_line(int fd, off_t size)
{
    char last = '\n';
    if (size > 0 && pread(fd, &last, 1, size - 1) != 1)
        return -1;
    if (last == '\n')
        return 0;
    return write_all(fd, "\n", 1) == 0 ? 1 : -1;
}

size_t store_journal_append(const char *path, size_t max_bytes, const char *const *lines, size_t n,
                            char *err, size_t errlen)
{
    int created;
    int fd = open_journal(path, &created);
    struct stat st;
    int added = -1;
    if (fd < 0 || fstat(fd, &st) != 0 || (added = end_line(fd, st.st_size)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size + (size_t)added, written = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(lines[i]);
        if (size + len + 1 > max_bytes) {
            snprintf(err, errlen, "%s: full (%zu bytes at most)", path, max_bytes);
            continue;
        }
        if (write_all(fd, lines[i], len) != 0 || write_all(fd, "\n", 1) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            break;
        }
        size += len + 1;
        written++;
    }
    if (fsync(fd) != 0 || (created && sync_dir_of(path) != 0)) {
        snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
        written = 0; /* nothing is known to be on disk */
    }
    close(fd);
    return written;
}

static json_t *parse_line(const char *line, size_t len)
{
    json_error_t e;
    json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
    if (rec != NULL && !json_is_object(rec)) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

/* Each line of buf in order; a last line without its newline was torn by
 * a crash in the middle of an append. */
static void replay_buffer(char *buf, size_t len, store_journal_fn fn, void *ud,
                          store_journal_stats_t *st)
{
    size_t at = 0, lineno = 0;
    while (at < len) {
        char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        lineno++;
        json_t *rec = end > at ? parse_line(buf + at, end - at) : NULL;
        if (rec != NULL) {
            if (fn(rec, ud) == STORE_JOURNAL_DONE)
                st->done++;
            else
                st->kept++;
            json_decref(rec);
        } else if (end > at) {
            st->skipped++;
            log_json(LOG_LEVEL_WARN, "journal: a line that is not a record skipped",
                     json_pack("{s:I, s:b}", "line", (json_int_t)lineno, "last", nl == NULL));
        }
        at = end + 1;
    }
}

static char *read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else if ((size_t)st.st_size > max_bytes) {
        snprintf(err, errlen, "%s: %lld bytes, more than a journal holds (%zu)", path,
                 (long long)st.st_size, max_bytes);
    } else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
    } else {
        ssize_t n = 0, got = 0;
        while (got < st.st_size && (n = read(fd, buf + got, (size_t)(st.st_size - got))) > 0)
            got += n;
        *len = (size_t)got;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(buf);
            buf = NULL;
        }
    }
    if (fd >= 0)
        close(fd);
    return buf;
}

int store_journal_replay(const char *path, size_t max_bytes, store_journal_fn fn, void *ud,
                         store_journal_stats_t *stats, char *err, size_t errlen)
{
    memset(stats, 0, sizeof(*stats));
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    size_t len = 0;
    char *buf = read_file(path, max_bytes, &len, err, errlen);
    if (buf == NULL)
        return -1;
    replay_buffer(buf, len, fn, ud, stats);
    free(buf);
    if (stats->kept > 0)
        return 0;
    if (unlink(path) != 0 || sync_dir_of(path) != 0) {
        snprintf(err, errlen, "%s: remove: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
