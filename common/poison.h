/* SPDX-License-Identifier: MIT */
/*
 * Bans the libc calls that have hurt C programs most. Include it LAST in
 * every .c file: poisoning before <stdio.h> breaks that header.
 */
#ifndef COMMON_POISON_H
#define COMMON_POISON_H

#if defined(__GNUC__)
#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok atoi atol
#endif

#endif
