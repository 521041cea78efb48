/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation for the writers that put peers' and users' strings into
 * JSON, XML and HTML: one decoder, so the three outputs agree on what is
 * well formed. Pure, no allocation.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (2..4) of the well-formed multi-byte UTF-8 sequence at p, or 0
 * when the bytes there are not one: a stray continuation byte, an overlong
 * form, a surrogate, a code point above U+10FFFF, or a sequence cut short
 * (the terminating NUL stops it). With xml_chars, U+FFFE and U+FFFF, which
 * XML 1.0 and HTML forbid, are refused too. p must be NUL-terminated.
 */
size_t utf8_seq_len(const unsigned char *p, bool xml_chars);

#endif
