#include "core/utf8.h"

#include <stdint.h>

size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned lead = p[0];
    if (lead < 0xC2 || lead > 0xF4) /* a continuation, C0/C1 (overlong), past U+10FFFF */
        return 0;
    size_t len = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t v = lead & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return len;
}
