/* FNV-1a, 64-bit: cheap and unkeyed. Only for bounded tables whose keys we
 * made or verified (SQL text, schema names, ids from verified tokens), never
 * for keys an attacker may pick to collide. */
#ifndef AGENTOS_CORE_HASH_H
#define AGENTOS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 14695981039346656037ULL

static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ u[i]) * 1099511628211ULL;
    return h;
}

static inline uint64_t hash_fnv1a_str(uint64_t h, const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        h = (h ^ *u) * 1099511628211ULL;
    return h;
}

#endif
