/* SPDX-License-Identifier: MIT */
/*
 * The only allocator entry points the project uses. They return NULL on
 * failure like malloc (callers turn that into E_NOMEM); they never abort.
 * alloc_fail_after() lets unit tests fail the Nth allocation so that every
 * OOM path can be exercised (SQLite's and curl's torture idea).
 */
#ifndef COMMON_ALLOC_H
#define COMMON_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void xfree(void *p);

/* Returns a new NUL-terminated copy of s (free with xfree), or NULL. */
char *xstrdup(const char *s);

/*
 * Test hook: after n more successful allocations, every allocation fails
 * until alloc_fail_after(-1) disarms it. Thread-safe (atomic counter).
 */
void alloc_fail_after(long n);

#endif
