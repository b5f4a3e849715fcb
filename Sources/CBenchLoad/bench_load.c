/* The load generator's epoll loop. See include/bench_load.h for the contract. */
#define _GNU_SOURCE
#include "bench_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PUBLISH_DEPTH 1024
#define MAX_PENDING_HANDSHAKES 512
#define READ_CHUNK (256 * 1024)

enum conn_state { CONNECTING, UPGRADING, OPEN, CLOSED };

typedef struct buffer {
    char *data;
    size_t length, capacity;
} buffer;

typedef struct conn {
    int fd;
    int is_publisher;
    enum conn_state state;
    int channel;
    int ready;
    int64_t *last_seq;                /* per publishing connection: each one's publications must stay in order */
    size_t payload_offset;            /* where the publication started in this connection's last message */
    buffer in, out;
    /* publisher only: channels of the requests awaiting an answer, in order */
    int pending[MAX_PUBLISH_DEPTH];
    int pending_head, pending_count;
} conn;

struct bench {
    bench_config config;
    int epoll;
    conn *subscribers;
    conn *publishers;
    int publisher_count, publish_depth;
    int *channel_subscribers;
    char **channel_names;
    bench_results results;
    uint64_t *fine, *coarse;
    uint64_t warmup_end_us;
    uint64_t last_delivery_us;
    int ready_count, upgrading_count, next_to_open;
    char error[256];
};

static uint64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void buffer_append(buffer *b, const void *data, size_t length) {
    if (b->length + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->length + length) capacity *= 2;
        b->data = realloc(b->data, capacity);
        if (!b->data) abort();
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, data, length);
    b->length += length;
}

static void buffer_consume(buffer *b, size_t length) {
    memmove(b->data, b->data + length, b->length - length);
    b->length -= length;
}

/* Replaces every "{CH}" in template with the channel's name. */
static char *expand(const char *template, const char *channel) {
    if (!template) return NULL;
    size_t size = strlen(template) + 1, count = 0;
    for (const char *p = strstr(template, "{CH}"); p; p = strstr(p + 4, "{CH}")) count++;
    size += count * strlen(channel);
    char *out = malloc(size), *w = out;
    for (const char *p = template; *p;) {
        if (strncmp(p, "{CH}", 4) == 0) {
            w += sprintf(w, "%s", channel);
            p += 4;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return out;
}

static void set_error(bench *b, const char *what) {
    snprintf(b->error, sizeof b->error, "%s: %s", what, strerror(errno));
}

/* Writes what is buffered; keeps the rest for EPOLLOUT. */
static int flush_out(bench *b, conn *c) {
    while (c->out.length > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.length, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        buffer_consume(&c->out, (size_t)n);
    }
    struct epoll_event event = {.events = EPOLLIN | (c->out.length ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(b->epoll, EPOLL_CTL_MOD, c->fd, &event);
    return 0;
}

/* A client-to-server frame must be masked; a zero mask keeps the payload as it is. */
static void send_frame(bench *b, conn *c, int opcode, const char *payload, size_t length) {
    unsigned char header[14];
    size_t h = 0;
    header[h++] = (unsigned char)(0x80 | opcode);
    if (length < 126) {
        header[h++] = (unsigned char)(0x80 | length);
    } else {
        header[h++] = 0x80 | 126;
        header[h++] = (unsigned char)(length >> 8);
        header[h++] = (unsigned char)length;
    }
    memset(header + h, 0, 4);
    h += 4;
    buffer_append(&c->out, header, h);
    buffer_append(&c->out, payload, length);
    flush_out(b, c);
}

static void close_conn(bench *b, conn *c) {
    if (c->state == CLOSED) return;
    if (!c->is_publisher && c->state == OPEN) b->results.disconnects++;
    if (!c->is_publisher && c->state == UPGRADING) b->upgrading_count--;
    epoll_ctl(b->epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = CLOSED;
}

static int open_socket(bench *b, conn *c, int source) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        set_error(b, "socket");
        return -1;
    }
    int yes = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (source > 0) {
        struct sockaddr_in local = {.sin_family = AF_INET};
        local.sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)source);
        bind(c->fd, (struct sockaddr *)&local, sizeof local);
    }
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->config.port)};
    inet_pton(AF_INET, b->config.host, &server.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        set_error(b, "connect");
        close(c->fd);
        return -1;
    }
    c->state = CONNECTING;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(b->epoll, EPOLL_CTL_ADD, c->fd, &event);
    return 0;
}

static void start_upgrade(bench *b, conn *c) {
    char *path = expand(b->config.ws_path, b->channel_names[c->channel]);
    char request[1024];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, b->config.host, b->config.port);
    free(path);
    c->state = UPGRADING;
    buffer_append(&c->out, request, (size_t)n);
    flush_out(b, c);
}

static void mark_ready(bench *b, conn *c) {
    if (c->ready) return;
    c->ready = 1;
    b->ready_count++;
    b->upgrading_count--;
}

static void record_latency(bench *b, uint64_t sent_us, uint64_t received_us) {
    if (sent_us < b->warmup_end_us) return;
    uint64_t latency = received_us > sent_us ? received_us - sent_us : 0;
    if (latency < BENCH_FINE_US) {
        b->fine[latency]++;
    } else {
        uint64_t ms = latency / 1000;
        b->coarse[ms < BENCH_COARSE_MS ? ms : BENCH_COARSE_MS - 1]++;
    }
    b->results.measured++;
}

/* Digits at p, as strtoull without its locale and errno work: this runs once per delivery. */
static uint64_t parse_digits(const char *p, const char *end, const char **after) {
    uint64_t value = 0;
    while (p < end && *p >= '0' && *p <= '9') value = value * 10 + (uint64_t)(*p++ - '0');
    *after = p;
    return value;
}

/* Every publication in a text payload: each carries {"t":<send µs>,"s":<sequence>,"k":<publisher>,...}.
 * Order is checked per publishing connection: concurrent publishers race, one publisher's sequence may not. */
static void scan_payload(bench *b, conn *c, const char *payload, size_t length, uint64_t received_us) {
    const char *end = payload + length;
    for (const char *p = payload; p < end;) {
        /* A server wraps every publication of a channel the same way: look where the last one was first. */
        const char *t = p + c->payload_offset;
        if (t + 5 > end || memcmp(t, "{\"t\":", 5) != 0) {
            t = memmem(p, (size_t)(end - p), "{\"t\":", 5);
            if (!t) break;
            c->payload_offset = (size_t)(t - p);
        }
        const char *after;
        uint64_t sent = parse_digits(t + 5, end, &after);
        if (after + 5 > end || memcmp(after, ",\"s\":", 5) != 0) {
            p = t + 5;
            continue;
        }
        int64_t seq = (int64_t)parse_digits(after + 5, end, &after);
        long publisher = after + 5 <= end && memcmp(after, ",\"k\":", 5) == 0 ? (long)parse_digits(after + 5, end, &after) : 0;
        b->results.received++;
        if (c->last_seq && publisher >= 0 && publisher < b->publisher_count) {
            if (seq <= c->last_seq[publisher]) b->results.out_of_order++;
            c->last_seq[publisher] = seq;
        }
        record_latency(b, sent, received_us);
        b->last_delivery_us = received_us;
        p = after;
    }
    /* A Centrifuge ping is a "{}" message: alone in its frame, or a line first or last in one. Answer it or
     * be disconnected. (Lines in the middle of a frame are not looked at: that pass would cost per delivery.) */
    if (b->config.pong_reply && length >= 2 &&
        ((payload[0] == '{' && payload[1] == '}' && (length == 2 || payload[2] == '\n')) ||
         (end[-2] == '{' && end[-1] == '}' && length >= 3 && end[-3] == '\n')))
        send_frame(b, c, 0x1, b->config.pong_reply, strlen(b->config.pong_reply));
}

static void handle_frames(bench *b, conn *c, uint64_t received_us) {
    size_t offset = 0;
    unsigned char *data = (unsigned char *)c->in.data;
    while (c->in.length - offset >= 2) {
        unsigned char *frame = data + offset;
        size_t available = c->in.length - offset, header = 2;
        uint64_t length = frame[1] & 0x7F;
        if (length == 126) {
            if (available < 4) break;
            length = ((uint64_t)frame[2] << 8) | frame[3];
            header = 4;
        } else if (length == 127) {
            if (available < 10) break;
            length = 0;
            for (int i = 2; i < 10; i++) length = (length << 8) | frame[i];
            header = 10;
        }
        if (available < header + length) break;
        int opcode = frame[0] & 0x0F;
        const char *payload = (const char *)frame + header;
        if (opcode == 0x1 || opcode == 0x0) {
            if (!c->ready && b->config.ready_marker &&
                memmem(payload, length, b->config.ready_marker, strlen(b->config.ready_marker)))
                mark_ready(b, c);
            scan_payload(b, c, payload, length, received_us);
        } else if (opcode == 0x9) {
            send_frame(b, c, 0xA, payload, length);
        } else if (opcode == 0x8) {
            offset += header + length;
            close_conn(b, c);
            return;
        }
        offset += header + length;
    }
    buffer_consume(&c->in, offset);
}

static void handle_upgrade_response(bench *b, conn *c) {
    char *end = memmem(c->in.data, c->in.length, "\r\n\r\n", 4);
    if (!end) return;
    if (c->in.length < 12 || strncmp(c->in.data + 9, "101", 3) != 0) {
        b->results.connect_failures++;
        close_conn(b, c);
        return;
    }
    buffer_consume(&c->in, (size_t)(end + 4 - c->in.data));
    c->state = OPEN;
    if (b->config.subscribe_message) {
        char *message = expand(b->config.subscribe_message, b->channel_names[c->channel]);
        send_frame(b, c, 0x1, message, strlen(message));
        free(message);
    }
    if (!b->config.ready_marker) mark_ready(b, c);
}

/* Answers arrive in request order on each publishing connection. */
static void handle_responses(bench *b, conn *c) {
    for (;;) {
        char *head_end = memmem(c->in.data, c->in.length, "\r\n\r\n", 4);
        if (!head_end) return;
        size_t head_length = (size_t)(head_end + 4 - c->in.data);
        int status = c->in.length >= 12 ? atoi(c->in.data + 9) : 0;
        size_t body_length = 0;
        int chunked = 0;
        for (char *line = c->in.data; line < head_end;) {
            char *line_end = memmem(line, (size_t)(head_end + 2 - line), "\r\n", 2);
            if (!line_end) break;
            if (strncasecmp(line, "content-length:", 15) == 0) body_length = strtoul(line + 15, NULL, 10);
            if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strcasestr(line, "chunked")) chunked = 1;
            line = line_end + 2;
        }
        size_t total = head_length + body_length;
        if (chunked) {
            char *last = memmem(c->in.data + head_length, c->in.length - head_length, "0\r\n\r\n", 5);
            if (!last) return;
            total = (size_t)(last + 5 - c->in.data);
        }
        if (c->in.length < total) return;
        buffer_consume(&c->in, total);
        if (c->pending_count == 0) continue;
        int channel = c->pending[c->pending_head];
        c->pending_head = (c->pending_head + 1) % MAX_PUBLISH_DEPTH;
        c->pending_count--;
        if (status >= 200 && status < 300) {
            b->results.published++;
            b->results.expected += (uint64_t)b->channel_subscribers[channel];
        } else {
            b->results.publish_errors++;
        }
    }
}

static int handle_event(bench *b, conn *c, uint32_t events) {
    if (c->state == CONNECTING) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error) {
            if (!c->is_publisher) b->results.connect_failures++;
            close_conn(b, c);
            return c->is_publisher ? -1 : 0;
        }
        if (c->is_publisher) {
            c->state = OPEN;
            flush_out(b, c);
        } else {
            start_upgrade(b, c);
        }
        return 0;
    }
    if (events & EPOLLOUT) flush_out(b, c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return 0;
    static char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            if (c->is_publisher) {
                snprintf(b->error, sizeof b->error, "the server closed a publishing connection");
                close_conn(b, c);
                return -1;
            }
            if (c->state == UPGRADING) b->results.connect_failures++;
            close_conn(b, c);
            return 0;
        }
        buffer_append(&c->in, chunk, (size_t)n);
        if ((size_t)n < sizeof chunk) break;
    }
    uint64_t received = now_us();
    if (c->is_publisher) {
        handle_responses(b, c);
    } else if (c->state == UPGRADING) {
        handle_upgrade_response(b, c);
        if (c->state == OPEN) handle_frames(b, c, received);
    } else if (c->state == OPEN) {
        handle_frames(b, c, received);
    }
    return 0;
}

/* Waits at most timeout_us: microseconds, so pacing a publication every few hundred µs sleeps instead of
 * spinning (a spinning tool would read as a busy one). */
static int poll_once(bench *b, uint64_t timeout_us) {
    struct epoll_event events[512];
    struct timespec timeout = {.tv_sec = (time_t)(timeout_us / 1000000), .tv_nsec = (long)(timeout_us % 1000000) * 1000};
    int n = epoll_pwait2(b->epoll, events, 512, &timeout, NULL);
    for (int i = 0; i < n; i++) {
        if (handle_event(b, events[i].data.ptr, events[i].events) < 0) return -1;
    }
    return 0;
}

bench *bench_create(const bench_config *config) {
    bench *b = calloc(1, sizeof *b);
    b->config = *config;
    if (b->config.channels < 1) b->config.channels = 1;
    if (b->config.in_flight < 1) b->config.in_flight = 1;
    if (b->config.source_addresses < 1) b->config.source_addresses = 1;
    b->epoll = epoll_create1(EPOLL_CLOEXEC);
    b->subscribers = calloc((size_t)config->subscribers, sizeof(conn));
    b->channel_subscribers = calloc((size_t)b->config.channels, sizeof(int));
    b->channel_names = calloc((size_t)b->config.channels, sizeof(char *));
    for (int i = 0; i < b->config.channels; i++) {
        b->channel_names[i] = malloc(16);
        snprintf(b->channel_names[i], 16, "c%d", i);
    }
    b->fine = calloc(BENCH_FINE_US, sizeof(uint64_t));
    b->coarse = calloc(BENCH_COARSE_MS, sizeof(uint64_t));
    /* One keep-alive connection with up to in_flight requests pipelined on it, as one service publishing
     * through a client that pipelines. */
    if (b->config.in_flight > MAX_PUBLISH_DEPTH) b->config.in_flight = MAX_PUBLISH_DEPTH;
    b->publisher_count = 1;
    b->publish_depth = b->config.in_flight;
    b->publishers = calloc((size_t)b->publisher_count, sizeof(conn));
    return b;
}

int bench_connect(bench *b, double timeout_seconds) {
    uint64_t start = now_us(), deadline = start + (uint64_t)(timeout_seconds * 1e6);
    int total = b->config.subscribers;
    while (b->ready_count + b->results.connect_failures < total && now_us() < deadline) {
        while (b->next_to_open < total && b->upgrading_count < MAX_PENDING_HANDSHAKES) {
            int i = b->next_to_open++;
            conn *c = &b->subscribers[i];
            c->channel = i % b->config.channels;
            if (open_socket(b, c, i % b->config.source_addresses) < 0) {
                b->results.connect_failures++;
                continue;
            }
            b->channel_subscribers[c->channel]++;
            b->upgrading_count++;
        }
        poll_once(b, 10000);
    }
    b->results.connect_seconds = (double)(now_us() - start) / 1e6;
    b->results.connected = b->ready_count;
    return b->ready_count;
}

static int open_publishers(bench *b) {
    for (int i = 0; i < b->publisher_count; i++) {
        conn *c = &b->publishers[i];
        c->is_publisher = 1;
        if (open_socket(b, c, 0) < 0) return -1;
    }
    uint64_t deadline = now_us() + 5000000;
    for (;;) {
        int open = 0;
        for (int i = 0; i < b->publisher_count; i++) open += b->publishers[i].state == OPEN;
        if (open == b->publisher_count) return 0;
        if (now_us() > deadline) {
            snprintf(b->error, sizeof b->error, "publishing connections did not open");
            return -1;
        }
        if (poll_once(b, 10000) < 0) return -1;
    }
}

static void send_publication(bench *b, conn *c, uint64_t sequence, int publisher) {
    int channel = (int)(sequence % (uint64_t)b->config.channels);
    const char *name = b->channel_names[channel];
    char payload[4096];
    int size = b->config.payload_size < (int)sizeof payload - 1 ? b->config.payload_size : (int)sizeof payload - 1;
    int n = snprintf(payload, sizeof payload, "{\"t\":%llu,\"s\":%llu,\"k\":%d,\"p\":\"",
                     (unsigned long long)now_us(), (unsigned long long)sequence, publisher);
    while (n < size - 2) payload[n++] = 'x';
    payload[n++] = '"';
    payload[n++] = '}';
    char *path = expand(b->config.publish_path, name);
    char *prefix = expand(b->config.publish_prefix ? b->config.publish_prefix : "", name);
    const char *suffix = b->config.publish_suffix ? b->config.publish_suffix : "";
    size_t body_length = strlen(prefix) + (size_t)n + strlen(suffix);
    char head[1024];
    int h = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                     path, b->config.host, b->config.port, b->config.extra_headers ? b->config.extra_headers : "",
                     body_length);
    buffer_append(&c->out, head, (size_t)h);
    buffer_append(&c->out, prefix, strlen(prefix));
    buffer_append(&c->out, payload, (size_t)n);
    buffer_append(&c->out, suffix, strlen(suffix));
    free(path);
    free(prefix);
    c->pending[(c->pending_head + c->pending_count) % MAX_PUBLISH_DEPTH] = channel;
    c->pending_count++;
}

int bench_run(bench *b, double rate, double seconds, double warmup_seconds, double drain_seconds) {
    if (open_publishers(b) < 0) return -1;
    for (int i = 0; i < b->config.subscribers; i++) {
        b->subscribers[i].last_seq = malloc(sizeof(int64_t) * (size_t)b->publisher_count);
        for (int k = 0; k < b->publisher_count; k++) b->subscribers[i].last_seq[k] = -1;
    }
    uint64_t start = now_us(), end = start + (uint64_t)(seconds * 1e6);
    b->warmup_end_us = start + (uint64_t)(warmup_seconds * 1e6);
    double interval_us = 1e6 / rate;
    uint64_t sequence = 0;
    int next_publisher = 0;
    for (;;) {
        uint64_t now = now_us();
        int outstanding = 0;
        for (int i = 0; i < b->publisher_count; i++) outstanding += b->publishers[i].pending_count;
        if (now >= end && outstanding == 0) break;
        if (now >= end + 30000000u) {
            snprintf(b->error, sizeof b->error, "publish answers did not arrive within 30 s");
            break;
        }
        /* send every publication that is due, as far as the in-flight bound allows */
        while (now < end && (double)(now - start) >= (double)sequence * interval_us &&
               outstanding < b->config.in_flight) {
            conn *c = NULL;
            for (int k = 0; k < b->publisher_count && !c; k++) {
                conn *candidate = &b->publishers[(next_publisher + k) % b->publisher_count];
                if (candidate->pending_count < b->publish_depth) c = candidate;
            }
            if (!c) break;
            next_publisher = (int)((c - b->publishers) + 1) % b->publisher_count;
            send_publication(b, c, sequence++, (int)(c - b->publishers));
            outstanding++;
        }
        /* everything due goes out together: pipelined requests share one send */
        for (int i = 0; i < b->publisher_count; i++) {
            if (b->publishers[i].out.length && flush_out(b, &b->publishers[i]) < 0) {
                set_error(b, "send");
                return -1;
            }
        }
        uint64_t next_due = start + (uint64_t)((double)sequence * interval_us);
        /* behind schedule with every slot taken: only an answer can let more out, and epoll wakes for it */
        int blocked = outstanding >= b->config.in_flight;
        uint64_t timeout = now >= end || blocked ? 10000 : next_due > now ? next_due - now : 0;
        if (poll_once(b, timeout) < 0) return -1;
    }
    uint64_t answered = now_us();
    b->results.publish_seconds = (double)(answered - start) / 1e6;
    b->last_delivery_us = answered;
    while (b->results.received < b->results.expected &&
           now_us() - b->last_delivery_us < (uint64_t)(drain_seconds * 1e6)) {
        if (poll_once(b, 10000) < 0) return -1;
    }
    b->results.drain_seconds = (double)(b->last_delivery_us - answered) / 1e6;
    return b->error[0] ? -1 : 0;
}

void bench_get_results(const bench *b, bench_results *out) { *out = b->results; }
const uint64_t *bench_fine_histogram(const bench *b) { return b->fine; }
const uint64_t *bench_coarse_histogram(const bench *b) { return b->coarse; }
const char *bench_last_error(const bench *b) { return b->error; }

void bench_destroy(bench *b) {
    for (int i = 0; i < b->config.subscribers; i++) {
        close_conn(b, &b->subscribers[i]);
        free(b->subscribers[i].in.data);
        free(b->subscribers[i].last_seq);
        free(b->subscribers[i].out.data);
    }
    for (int i = 0; i < b->publisher_count; i++) {
        close_conn(b, &b->publishers[i]);
        free(b->publishers[i].in.data);
        free(b->publishers[i].out.data);
    }
    for (int i = 0; i < b->config.channels; i++) free(b->channel_names[i]);
    free(b->channel_names);
    free(b->channel_subscribers);
    free(b->subscribers);
    free(b->publishers);
    free(b->fine);
    free(b->coarse);
    close(b->epoll);
    free(b);
}
