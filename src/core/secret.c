#include "core/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void secret_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

void secret_free(char *s)
{
    if (s == NULL)
        return;
    secret_wipe(s, strlen(s));
    free(s);
}

void secret_free_n(void *p, size_t n)
{
    if (p == NULL)
        return;
    secret_wipe(p, n);
    free(p);
}

int secret_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, sizeof u);
        memcpy(&v, y + i, sizeof v);
        diff |= u ^ v;
    }
    for (; i < n; i++)
        diff |= (uint64_t)(x[i] ^ y[i]);
    /* Folded without a branch on diff's bits. */
    return (int)((((diff | (0 - diff)) >> 63) ^ 1) & 1);
}
