/* SPDX-License-Identifier: MIT */
/*
 * The target's sampler (docs/tests-design.md 5.5, docs/resources.md):
 * reads the target's memory once, in bytes, from /proc/PID/status
 * (VmRSS), a cgroup v2 directory's memory.current, the target's GET
 * /metrics (katosim's rss_kb) or the Docker Engine API over
 * /var/run/docker.sock (a container's memory_stats.usage), and with it
 * the target's CPU time when the source gives one (/proc/PID/stat, the
 * cgroup's cpu.stat usage_usec, katosim's cpu_us, the container's
 * cpu_stats.cpu_usage.total_usage). Blocking, bounded by a 1 s timeout:
 * the control thread calls it between two batches. Not a resource
 * sampler of the agent's own host (resources.h).
 */
#ifndef AGENT_MEMSAMPLE_H
#define AGENT_MEMSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMSAMPLE_DOCKER_SOCK "/var/run/docker.sock"

/*
 * The source an ASSIGN's mem_source (enum config_memory_source) means on
 * this host: auto is docker when container is not "" and the Docker socket
 * exists, else metrics; any other value is itself.
 */
int memsample_resolve(int source, const char *container);

/* One reading of the target. */
struct memsample {
    uint64_t bytes;  /* memory, > 0 */
    uint64_t cpu_us; /* CPU time used since it started (cumulative) */
    bool has_cpu;    /* cpu_us is known (the source gave it) */
};

/*
 * Reads one sample from source (enum config_memory_source, not auto):
 * pid uses pid, cgroup uses path (the cgroup's directory), docker uses
 * path (the container's name), metrics uses url (the target's base URL).
 * Fills *out on success (the CPU time when the source has it: a missing
 * CPU figure is not an error). Returns 0, E_IO (unreadable,
 * unreachable, an HTTP status other than 200), E_PROTO (no figure in
 * what was read; err says so) or E_INVAL (unknown source). err (errlen
 * bytes) says why on failure. Borrows the strings.
 */
int memsample_read(int source, uint32_t pid, const char *path, const char *url,
                   struct memsample *out, char *err, size_t errlen);

/* The parsers, pure (for the unit tests): each returns 0 and writes
 * *bytes, or E_PROTO. status: a /proc/PID/status text ("VmRSS: N kB");
 * metrics: a /metrics JSON with "rss_kb": N (KATO's own /metrics gives
 * memory as a percentage, which has no byte value: E_PROTO); docker: a
 * container stats JSON with "memory_stats": {... "usage": N ...}; number:
 * a decimal count of bytes (memory.current). */
int memsample_parse_status(const char *text, uint64_t *bytes);
int memsample_parse_metrics(const char *json, uint64_t *bytes);
int memsample_parse_docker(const char *json, uint64_t *bytes);
int memsample_parse_number(const char *text, uint64_t *bytes);

/* The CPU parsers, pure: each returns 0 and writes *cpu_us, or E_PROTO.
 * cgroup: a cpu.stat text ("usage_usec N"); metrics: katosim's "cpu_us":
 * N; docker: "cpu_stats": {"cpu_usage": {"total_usage": N ns}}. The pid
 * source uses resources_parse_pid_stat. */
int memsample_parse_cgroup_cpu(const char *text, uint64_t *cpu_us);
int memsample_parse_metrics_cpu(const char *json, uint64_t *cpu_us);
int memsample_parse_docker_cpu(const char *json, uint64_t *cpu_us);

#endif
