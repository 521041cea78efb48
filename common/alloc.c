/* SPDX-License-Identifier: MIT */
/* Thin allocator wrappers with a fail-after-N hook for OOM tests. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poison.h"

/* -1: disarmed; otherwise the number of allocations still allowed. */
static atomic_long fail_budget = -1;

static int
should_fail(void)
{
    long b = atomic_load_explicit(&fail_budget, memory_order_relaxed);
    while (b >= 0) {
        if (b == 0) {
            return 1;
        }
        if (atomic_compare_exchange_weak(&fail_budget, &b, b - 1)) {
            return 0;
        }
    }
    return 0;
}

void
alloc_fail_after(long n)
{
    atomic_store(&fail_budget, n < 0 ? -1 : n);
}

void *
xmalloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *
xcalloc(size_t nmemb, size_t size)
{
    /* Refuse nmemb * size overflow here: calloc would return NULL too, but
     * sanitizer runtimes abort on it instead. */
    if (size != 0 && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    if (should_fail()) {
        return NULL;
    }
    return calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);
}

void *
xrealloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

void
xfree(void *p)
{
    free(p);
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}
