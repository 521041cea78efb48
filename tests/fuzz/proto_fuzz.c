/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the wire decoder (proto_decode). Any bytes may
 * arrive on the master's port, so decoding must never crash, leak or read
 * out of bounds. When a message decodes, the codec must also be a fixed
 * point: re-encoding it succeeds (the decoder accepts nothing the encoder
 * refuses), the re-encoded bytes decode to an equal message, and encoding
 * that again gives the same bytes. Not a unit test: built by `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../proto/proto.h"

#include "../../common/poison.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broke: say which, then abort so libFuzzer keeps the input. */
static void
die(const char *what, int rv)
{
    (void)fprintf(stderr, "proto_fuzz: %s (rv %d %s)\n", what, rv, err_str(rv));
    abort();
}

static void
hist_equal(size_t na, const struct hist_bucket *a, size_t nb,
           const struct hist_bucket *b)
{
    if (na != nb) {
        die("histogram sizes differ after a round trip", 0);
    }
    for (size_t i = 0; i < na; i++) {
        if (a[i].index != b[i].index || a[i].count != b[i].count) {
            die("histogram buckets differ after a round trip", 0);
        }
    }
}

/*
 * proto_decode zeroes the whole message before filling it, so two decoded
 * messages can be compared bytewise (padding included), once the batch's
 * heap arrays, whose addresses differ, are compared by content and masked.
 */
static void
msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
    struct proto_msg ca = *a;
    struct proto_msg cb = *b;

    if (a->type != b->type) {
        die("type differs after a round trip", 0);
    }
    if (a->type == PROTO_BATCH) {
        for (size_t i = 0; i < OP_COUNT; i++) {
            const struct proto_op_batch *oa = &a->u.batch.op[i];
            const struct proto_op_batch *ob = &b->u.batch.op[i];
            hist_equal(oa->n_latency, oa->latency, ob->n_latency, ob->latency);
            hist_equal(oa->n_service, oa->service, ob->n_service, ob->service);
            if (oa->n_errors != ob->n_errors) {
                die("error counts differ after a round trip", 0);
            }
            for (size_t j = 0; j < oa->n_errors; j++) {
                if (oa->err[j].key != ob->err[j].key ||
                    oa->err[j].count != ob->err[j].count) {
                    die("error entries differ after a round trip", 0);
                }
            }
            ca.u.batch.op[i].latency = NULL;
            ca.u.batch.op[i].service = NULL;
            ca.u.batch.op[i].err = NULL;
            cb.u.batch.op[i].latency = NULL;
            cb.u.batch.op[i].service = NULL;
            cb.u.batch.op[i].err = NULL;
        }
    }
    if (memcmp(&ca, &cb, sizeof(ca)) != 0) {
        die("message differs after a round trip", 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_msg m1;
    struct proto_msg m2;
    struct buf b1;
    struct buf b2;
    int rv;

    buf_init(&b1, PROTO_MAX_MSG);
    buf_init(&b2, PROTO_MAX_MSG);
    memset(&m2, 0, sizeof(m2));
    rv = proto_decode(data, size, &m1);
    if (rv != 0) {
        /* A failed decode leaves nothing to release; fini must cope. */
        proto_msg_fini(&m1);
        goto out;
    }
    rv = proto_encode(&m1, &b1);
    if (rv != 0) {
        die("a decoded message does not re-encode", rv);
    }
    rv = proto_decode(b1.data, b1.len, &m2);
    if (rv != 0) {
        die("a re-encoded message does not decode", rv);
    }
    msg_equal(&m1, &m2);
    rv = proto_encode(&m2, &b2);
    if (rv != 0) {
        die("the second encoding fails", rv);
    }
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
        die("encoding is not stable across a round trip", 0);
    }
    proto_msg_fini(&m1);
    proto_msg_fini(&m2);
out:
    buf_fini(&b1);
    buf_fini(&b2);
    return 0;
}
