#include "core/secret.h"

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
