/* SPDX-License-Identifier: MIT */
/*
 * The unit-test runner: runs every cmocka group (or those whose name
 * contains argv[1]) and ends with "unit: N passed, N failed" counted in
 * groups' tests. Exit status is non-zero when any test failed.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/poison.h"

struct group {
    const char *name;
    int (*run)(void);
};

static const struct group groups[] = {
    {"common", common_tests},       {"hist", hist_tests},
    {"sha256", sha256_tests},       {"proto", proto_tests},
    {"config", config_tests},       {"plan", plan_tests},
    {"payload", payload_tests},     {"metrics", metrics_tests},
    {"pattern", pattern_tests},     {"engine", engine_tests},
    {"aggregate", aggregate_tests}, {"html", html_tests},
    {"degrade", degrade_tests},     {"thresholds", thresholds_tests},
    {"console", console_tests},     {"recovery", recovery_tests},
    {"memleak", memleak_tests},     {"burstpool", burstpool_tests},
    {"resources", resources_tests}, {"rebalance", rebalance_tests},
    {"baseline", baseline_tests},   {"tls", tls_tests},
    {"httpx", httpx_tests},
};

int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int failed_groups = 0;
    size_t ran = 0;

    /* Counts per test come from cmocka's own lines; the runner reports
     * groups so a filter typo cannot pass silently. */
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (filter != NULL && strstr(groups[i].name, filter) == NULL) {
            continue;
        }
        ran++;
        if (groups[i].run() != 0) {
            failed_groups++;
        }
    }
    if (ran == 0) {
        (void)fprintf(stderr, "unit: no group matches '%s'\n",
                      filter ? filter : "");
        return 2;
    }
    return failed_groups == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
