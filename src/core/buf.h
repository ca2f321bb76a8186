/* A bounded growable byte buffer, after curl's dynbuf (lib/dynbuf.h): the
 * one way this code base gathers bytes of unknown length. Every buffer has
 * a limit set when it is made, so no peer can make one grow without end.
 *
 * As with curl, a failed call (past the limit, out of memory, a bad format)
 * frees what the buffer held and leaves it empty, still usable with the
 * same limit: a caller never works on half-appended bytes, and an error
 * path has nothing left to free. Unlike curl, the limit counts the bytes
 * held, not the terminating NUL, and a zero limit is allowed (only "" fits).
 *
 * The contents are always NUL-terminated, so text can be read in place;
 * embedded NULs are kept and counted by buf_len. */
#ifndef AGENTOS_CORE_BUF_H
#define AGENTOS_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_WUR __attribute__((warn_unused_result))

typedef enum {
    BUF_OK = 0,
    BUF_TOO_LARGE = -1, /* the limit would be passed */
    BUF_NOMEM = -2,
    BUF_FORMAT = -3, /* vsnprintf failed (an encoding error) */
} buf_rc_t;

/* The fields are this module's: read them through the functions below. A
 * zeroed buf_t is an empty buffer whose limit is 0; buf_init sets one. */
typedef struct buf {
    char *p;    /* NULL until the first byte; then len bytes and a NUL */
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated (len + 1 at least, once allocated) */
    size_t max; /* len never passes it */
} buf_t;

/* An empty buffer that may hold up to max bytes (SIZE_MAX - 1 at most).
 * Allocates nothing. */
void buf_init(buf_t *b, size_t max);
/* Frees the bytes; b is empty and keeps its limit. */
void buf_free(buf_t *b);
/* Empties b but keeps its allocation, for reuse. */
void buf_reset(buf_t *b);

/* Appends n bytes (n may be 0; s may then be NULL). */
BUF_WUR buf_rc_t buf_append(buf_t *b, const void *s, size_t n);
/* Appends a NUL-terminated string, without its NUL. */
BUF_WUR buf_rc_t buf_append_str(buf_t *b, const char *s);
/* Appends printf-formatted text; no argument may point into b. */
BUF_WUR buf_rc_t buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a va_list, for a caller's own printf-like function; as
 * with vprintf, ap is used up (the caller still calls va_end). */
BUF_WUR buf_rc_t buf_vprintf(buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Cuts b to its first len bytes; nothing happens when it holds no more. */
void buf_truncate(buf_t *b, size_t len);
/* Exchanges the contents, capacities and limits of a and b. */
void buf_swap(buf_t *a, buf_t *b);

/* The bytes, NUL-terminated; "" (not to be written) before the first
 * byte. Valid until the next call that changes b. */
const char *buf_ptr(const buf_t *b);
size_t buf_len(const buf_t *b);

/* Hands the bytes over, NUL-terminated and malloc'd ("" when empty); *len
 * gets their length when len is not NULL. b is left empty, with its
 * limit. NULL only when an empty buffer's "" cannot be allocated. */
BUF_WUR char *buf_take(buf_t *b, size_t *len);

#endif
