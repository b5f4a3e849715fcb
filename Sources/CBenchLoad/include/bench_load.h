#ifndef HERALD_BENCH_LOAD_H
#define HERALD_BENCH_LOAD_H
/*
 * The load generator's hot loop, in C so that the tool is not what gets measured: one epoll loop holds
 * every subscriber connection and the publishing connections, paces publications, and records each
 * delivery's latency in fixed histograms. The Swift driver (herald-bench) sets it up, reads the results and
 * does everything else.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct bench_config {
    const char *host;                 /* server address, IPv4 dotted */
    int port;
    /* Text templates; "{CH}" is replaced by the channel name (c0, c1, ...). */
    const char *ws_path;              /* e.g. "/connection/websocket", "/sub/{CH}", "/{CH}" */
    const char *subscribe_message;    /* sent once the upgrade completes, or NULL */
    const char *ready_marker;         /* a subscriber is ready after a frame containing this, or at 101 if NULL */
    const char *publish_path;         /* e.g. "/api/publish", "/pub/{CH}" */
    const char *publish_prefix;       /* body = prefix + payload + suffix, e.g. {"channel":"{CH}","data": */
    const char *publish_suffix;
    const char *extra_headers;        /* added to publish requests, each ending in \r\n, or NULL */
    const char *pong_reply;           /* when a text frame is exactly "{}" (Centrifuge ping), send this; NULL: no */
    int subscribers;
    int channels;                     /* subscriber i joins channel i % channels; publications go round-robin */
    int payload_size;                 /* bytes of the payload JSON (timestamp and sequence padded to size) */
    int in_flight;                    /* publish requests outstanding at most, pipelined on one keep-alive connection */
    int source_addresses;             /* subscribers spread over 127.0.0.1 .. 127.0.0.N as source addresses */
} bench_config;

typedef struct bench_results {
    double connect_seconds;           /* first connect to last subscriber ready */
    int connected;                    /* subscribers ready */
    int connect_failures;
    uint64_t published;               /* publish requests answered 2xx */
    uint64_t publish_errors;          /* non-2xx answers */
    double publish_seconds;           /* first request to last answer */
    uint64_t expected;                /* sum over publications of their channel's subscriber count */
    uint64_t received;                /* publications received by subscribers */
    uint64_t out_of_order;            /* deliveries whose sequence was not above the subscriber's previous */
    uint64_t measured;                /* deliveries recorded in the histograms (after the warm-up) */
    uint64_t disconnects;             /* subscribers the server closed during the run */
    double drain_seconds;             /* from the last answer to the last delivery */
} bench_results;

/* Latency histograms: fine has one bucket per microsecond below BENCH_FINE_US, coarse one per millisecond
 * below BENCH_COARSE_MS; anything longer lands in the last coarse bucket. */
#define BENCH_FINE_US 1000000
#define BENCH_COARSE_MS 600000

typedef struct bench bench;

bench *bench_create(const bench_config *config);
/* Opens and subscribes every subscriber; returns how many became ready within timeout_seconds. */
int bench_connect(bench *b, double timeout_seconds);
/* Publishes at `rate` per second for `seconds`, recording latency after `warmup_seconds`, then waits until
 * every expected delivery arrived or nothing arrived for `drain_seconds`. Returns 0, or -1 when the publishing
 * connection failed. */
int bench_run(bench *b, double rate, double seconds, double warmup_seconds, double drain_seconds);
void bench_get_results(const bench *b, bench_results *out);
const uint64_t *bench_fine_histogram(const bench *b);
const uint64_t *bench_coarse_histogram(const bench *b);
const char *bench_last_error(const bench *b);
void bench_destroy(bench *b);

#endif
