/* SPDX-License-Identifier: MIT */
/*
 * The unit-test groups. Each tests/unit/<module>_test.c defines one
 * function that runs its cmocka group and returns the number of failures;
 * tests/unit/main.c lists them and takes an optional name filter.
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

int hist_tests(void);
int sha256_tests(void);
int proto_tests(void);
int config_tests(void);
int plan_tests(void);
int payload_tests(void);
int common_tests(void);
int metrics_tests(void);
int aggregate_tests(void);
int pattern_tests(void);
int engine_tests(void);
int html_tests(void);
int degrade_tests(void);
int thresholds_tests(void);
int console_tests(void);
int recovery_tests(void);
int memleak_tests(void);
int burstpool_tests(void);
int resources_tests(void);
int rebalance_tests(void);
int baseline_tests(void);
int tls_tests(void);
int httpx_tests(void);

#endif
