/* UTF-8 checked the way jansson checks it (utf8.c's utf8_check_first and
 * utf8_check_full): the fast paths that read or write JSON text without
 * jansson (agent/model_scan.c, agent/run_frame.c) accept exactly what
 * jansson would. */
#ifndef AGENTOS_CORE_UTF8_H
#define AGENTOS_CORE_UTF8_H

#include <stddef.h>

/* The length (2 to 4) of the multi-byte sequence at p (p[0] >= 0x80),
 * within n bytes; 0 when it is not valid: a bad lead or continuation
 * byte, an overlong form, a surrogate, past U+10FFFF, or cut short. */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
