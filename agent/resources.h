/* SPDX-License-Identifier: MIT */
/*
 * The agent's sampler of its own process and host (docs/resources.md):
 * process CPU (/proc/self/stat utime + stime), host CPU (/proc/stat), RSS
 * (/proc/self/statm) and network bytes (/proc/net/dev, every interface
 * of the agent's network namespace, lo included: a loopback test's load
 * is on lo). The control thread calls resources_sample as it queues each
 * BATCH (about once a second); CPU and bytes are rates over the time
 * since the previous sample. Not the target's sampler (memsample.h), and
 * not the engine's own figures (open connections, loop lag: metrics.h).
 */
#ifndef AGENT_RESOURCES_H
#define AGENT_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Samples closer together than this give no figures (the rates would be
 * noise): the batches queued at once after a stall, at the end. */
#define RESOURCES_MIN_WINDOW_MS 250u

/* One sample. CPU in hundredths of a percent: process CPU of one core
 * (a process running two threads flat out reads 20000), host CPU of all
 * cores (0 .. 10000). */
struct resources_sample {
    uint64_t cpu_centi;      /* process CPU over the window */
    uint64_t host_cpu_centi; /* host busy time over the window */
    uint64_t rss_bytes;      /* resident set now */
    uint64_t net_rx_bytes;   /* received during the window, all ifaces */
    uint64_t net_tx_bytes;   /* sent during the window, all ifaces */
    uint64_t window_ms;      /* the window */
};

/* The sampler's state, caller storage; fields private to resources.c. */
struct resources {
    bool primed;         /* a previous reading exists */
    uint64_t prev_ns;    /* its time (monotonic) */
    uint64_t prev_ticks; /* process utime + stime, clock ticks */
    uint64_t prev_busy;  /* host: busy jiffies */
    uint64_t prev_total; /* host: all jiffies */
    uint64_t prev_rx;    /* /proc/net/dev totals */
    uint64_t prev_tx;
    uint64_t ticks_per_s; /* sysconf(_SC_CLK_TCK) */
    uint64_t page_size;   /* sysconf(_SC_PAGESIZE) */
};

/* Sets r up and takes the first reading at now_ns (the base of the first
 * window); a failed reading leaves r unprimed (the next call primes it).
 * Never fails. */
void resources_init(struct resources *r, uint64_t now_ns);

/*
 * Reads the counters at now_ns (monotonic) and writes the figures over
 * the window since the previous reading into *out. Returns 0; 1 (no
 * figures, *out untouched) when the window is shorter than
 * RESOURCES_MIN_WINDOW_MS or there was no previous reading (this one
 * becomes it); E_IO when a /proc file cannot be read or parsed (the
 * previous reading is kept). Blocking on /proc reads only (microseconds).
 */
int resources_sample(struct resources *r, uint64_t now_ns,
                     struct resources_sample *out);

/* --- pure parsers (unit-tested on fixed text) --------------------------- */

/* /proc/PID/stat: *ticks = utime + stime (fields 14 and 15, counted after
 * the last ')' so a command name with spaces or parentheses is skipped).
 * Returns 0 or E_PROTO. */
int resources_parse_pid_stat(const char *text, uint64_t *ticks);

/* /proc/stat's first line "cpu user nice system idle iowait irq softirq
 * steal ...": *total = the sum of those eight (guest time is already in
 * user), *busy = total - idle - iowait. Returns 0 or E_PROTO. */
int resources_parse_proc_stat(const char *text, uint64_t *busy,
                              uint64_t *total);

/* /proc/PID/statm "size resident ...": *rss = resident x page_size.
 * Returns 0 or E_PROTO. */
int resources_parse_statm(const char *text, uint64_t page_size, uint64_t *rss);

/* /proc/net/dev: *rx and *tx = receive and transmit bytes summed over
 * every interface, lo included (two header lines, then "name: rx_bytes
 * 7 more rx fields tx_bytes ..."). Returns 0 or E_PROTO (no interface). */
int resources_parse_net_dev(const char *text, uint64_t *rx, uint64_t *tx);

/* The text readers the target's sampler (memsample.c) shares. */

/* Parses the decimal digits at *pp (after blanks) into *v and advances *pp
 * past them; false (nothing changed) when there are none or the value
 * overflows 64 bits. */
bool resources_next_u64(const char **pp, uint64_t *v);

/* Reads path whole, at most cap - 1 bytes (cap > 0), into out, NUL-ended.
 * Returns 0, or E_IO with errno left as the failing call set it. */
int resources_read_file(const char *path, char *out, size_t cap);

/* CPU percent x 100 of cpu_delta over wall_delta, both in the same unit;
 * 0 when wall_delta is 0. */
uint64_t resources_centi(uint64_t cpu_delta, uint64_t wall_delta);

#endif
