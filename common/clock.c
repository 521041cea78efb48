/* SPDX-License-Identifier: MIT */
/* clock_gettime wrappers; see clock.h. */
#include "clock.h"

#include <errno.h>
#include <time.h>

#include "poison.h"

uint64_t
clock_now_ns(void)
{
    struct timespec ts = {0, 0};
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CLOCK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_wall_ns(void)
{
    struct timespec ts = {0, 0};
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * CLOCK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void
clock_sleep_ns(uint64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / CLOCK_NS_PER_S);
    ts.tv_nsec = (long)(ns % CLOCK_NS_PER_S);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
