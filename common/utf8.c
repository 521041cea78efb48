/* SPDX-License-Identifier: MIT */
/* The one UTF-8 decoder of the output writers; see utf8.h. */
#include "utf8.h"

#include <stdint.h>

#include "poison.h"

size_t
utf8_seq_len(const unsigned char *p, bool xml_chars)
{
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1fu;
        min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0fu;
        min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the terminating NUL */
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    if (xml_chars && (cp == 0xfffe || cp == 0xffff)) {
        return 0;
    }
    return n;
}
