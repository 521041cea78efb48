/* SPDX-License-Identifier: MIT */
/* Unit tests of master/console: the progress line's format, and the plain
 * and live modes written into a memory stream. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../master/console.h"

#include "../../common/poison.h"

static struct console_tick
tick(void)
{
    struct console_tick t;

    memset(&t, 0, sizeof(t));
    t.elapsed_s = 3;
    t.duration_s = 20;
    t.users = 8;
    t.rps = 412;
    t.p99_ms = 12.34;
    t.errors = 5;
    t.alive = 1;
    t.total = 2;
    return t;
}

static void
test_format(void **state)
{
    struct console_tick t = tick();
    char line[256];

    (void)state;
    assert_string_equal(console_format(&t, line, sizeof(line)),
                        "progress: 3/20s users=8 rps=412 p99=12.3ms "
                        "errors=5 agents=1/2");
    (void)console_format(&t, line, 10);
    assert_string_equal(line, "progress:");
}

static void
test_modes(void **state)
{
    struct console_tick t = tick();
    struct console c;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);

    (void)state;
    assert_non_null(fp);
    /* A memory stream is not a terminal: plain lines. */
    console_init(&c, fp, -1, false);
    console_progress(&c, &t);
    console_clear(&c);
    /* Live mode, as on a terminal: redraw in place, then erase. */
    c.tty = true;
    console_progress(&c, &t);
    console_progress(&c, &t);
    console_clear(&c);
    console_clear(&c); /* nothing drawn any more: no output */
    assert_int_equal(fclose(fp), 0);
    assert_string_equal(
        text, "progress: 3/20s users=8 rps=412 p99=12.3ms errors=5 "
              "agents=1/2\n"
              "\r\033[Kprogress: 3/20s users=8 rps=412 p99=12.3ms errors=5 "
              "agents=1/2"
              "\r\033[Kprogress: 3/20s users=8 rps=412 p99=12.3ms errors=5 "
              "agents=1/2"
              "\r\033[K");
    free(text); /* open_memstream's buffer comes from libc's malloc */
}

int
console_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
