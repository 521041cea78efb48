/* SPDX-License-Identifier: MIT */
/* Time in integer nanoseconds. Monotonic for measuring, wall for naming. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

#define CLOCK_NS_PER_US 1000ULL
#define CLOCK_NS_PER_MS 1000000ULL
#define CLOCK_NS_PER_S  1000000000ULL

/* CLOCK_MONOTONIC in ns: for latencies, schedules and timeouts. */
uint64_t clock_now_ns(void);

/* CLOCK_REALTIME in ns since the epoch: for timestamps in outputs. */
uint64_t clock_wall_ns(void);

/* Sleeps for ns nanoseconds; an interrupting signal does not cut it short. */
void clock_sleep_ns(uint64_t ns);

#endif
