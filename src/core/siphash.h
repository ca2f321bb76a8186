/* SipHash-1-3 (Aumasson and Bernstein; the variant Rust's HashMap uses): a
 * keyed 64-bit hash for tables whose keys an outsider may choose, so
 * colliding keys cannot be computed without the key. Not a MAC. */
#ifndef AGENTOS_CORE_SIPHASH_H
#define AGENTOS_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct siphash_key {
    uint64_t k0, k1;
} siphash_key_t;

uint64_t siphash13(const siphash_key_t *key, const void *data, size_t len);
/* SipHash-2-4, the paper's own: the same code with more rounds, so its
 * published test vectors check the construction. */
uint64_t siphash24(const siphash_key_t *key, const void *data, size_t len);

#endif
