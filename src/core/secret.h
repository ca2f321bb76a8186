/* Wiping keys, tokens and passwords before their memory is reused. A plain
 * memset before free is a dead store, and the optimiser removes it (seen at
 * -O2); explicit_bzero is not removed. */
#ifndef AGENTOS_CORE_SECRET_H
#define AGENTOS_CORE_SECRET_H

#include <stddef.h>

/* Zeroes n bytes at p; p may be NULL when n is 0. */
void secret_wipe(void *p, size_t n);
/* Zeroes a NUL-terminated secret up to its NUL, then frees it; NULL is fine. */
void secret_free(char *s);
/* Zeroes n bytes at p, then frees p; NULL is fine. For secrets that are not
 * NUL-terminated (or may hold a NUL). */
void secret_free_n(void *p, size_t n);
/* 1 when the n bytes at a and b are equal. The time depends on n only, not
 * on where they differ (no early exit), eight bytes a step: CRYPTO_memcmp
 * goes byte by byte, ~9 instructions each. */
int secret_equal(const void *a, const void *b, size_t n);

#endif
