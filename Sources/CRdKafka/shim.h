#ifndef HERALD_RDKAFKA_SHIM_H
#define HERALD_RDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>

/* rd_kafka_producev is variadic, which Swift cannot call: one fixed-argument wrapper. `headers` (may be
   NULL) is owned by librdkafka once this returns RD_KAFKA_RESP_ERR_NO_ERROR. */
static inline rd_kafka_resp_err_t herald_rdkafka_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                         const void *key, size_t key_len,
                                                         const void *value, size_t value_len,
                                                         rd_kafka_headers_t *headers, void *opaque) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

static const int32_t herald_rdkafka_partition_unassigned = RD_KAFKA_PARTITION_UA;
static const int64_t herald_rdkafka_offset_beginning = RD_KAFKA_OFFSET_BEGINNING;
static const int64_t herald_rdkafka_offset_end = RD_KAFKA_OFFSET_END;
#endif
