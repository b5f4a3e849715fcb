import CoreMetrics
import Synchronization

/// Herald's metrics through swift-metrics; the `herald` command bootstraps a Prometheus backend, and without
/// one they cost nothing. Names and labels follow Prometheus conventions and no label holds a channel or a
/// user, so the number of series stays bounded. Counters of the fan-out path are kept by each loop and
/// added here once a tick (`LoopContext.flushStats`), so delivering stays free of shared atomics; gauges of
/// state (connections, channels, lag) are set when scraped (`refresh`).
public final class NodeMetrics: Sendable {
    let publishedByAPI = Counter(label: "herald_publications_total", dimensions: [("source", "api")])
    let publishedByClient = Counter(label: "herald_publications_total", dimensions: [("source", "client")])
    let publishedFromKafka = Counter(label: "herald_publications_total", dimensions: [("source", "kafka")])
    let deliveries = Counter(label: "herald_deliveries_total")
    let deliveredBytes = Counter(label: "herald_delivered_bytes_total")
    let durableAppend = Timer(label: "herald_durable_append_seconds")
    let durableAppended = Counter(label: "herald_durable_appended_publications_total")
    let durableLogBytes = Gauge(label: "herald_durable_log_bytes")
    private let connections = Gauge(label: "herald_connections")
    private let users = Gauge(label: "herald_users")
    private let channels = Gauge(label: "herald_channels")
    private let subscriptions = Gauge(label: "herald_subscriptions")
    private let queuedBytes = Gauge(label: "herald_queued_bytes")
    private let queuedFrames = Gauge(label: "herald_queued_frames")
    private let dataStreams = Gauge(label: "herald_data_streams")

    /// Each family's `# HELP` text, for the exporter.
    public static let help: [String: String] = [
        "herald_publications_total": "Publications taken in, by source (api, client, kafka).",
        "herald_deliveries_total": "Publications handed to subscribers' outgoing queues.",
        "herald_delivered_bytes_total": "Bytes of publications handed to subscribers' outgoing queues.",
        "herald_durable_append_seconds": "Time of one group commit to the durable log.",
        "herald_durable_appended_publications_total": "Publications written to the durable log.",
        "herald_durable_log_bytes": "Size of the durable log on disk.",
        "herald_connections": "Connected clients.",
        "herald_users": "Distinct users of the connected clients.",
        "herald_channels": "Channels with subscribers.",
        "herald_subscriptions": "Subscriptions of connected clients.",
        "herald_queued_bytes": "Bytes waiting in clients' outgoing queues.",
        "herald_queued_frames": "Frames waiting in clients' outgoing queues.",
        "herald_data_streams": "Open Server-Sent Events and raw WebSocket streams.",
        "herald_build_info": "Herald's version, as a label; always 1.",
        "herald_command_errors_total": "Error replies to client commands, by protocol error code.",
        "herald_disconnects_total": "Connections Herald closed, by close code.",
        "herald_recoveries_total": "Subscribes that asked to recover, by outcome.",
        "herald_refused_total": "Refused tokens, limits hit and protocol violations, by kind.",
        "herald_kafka_lag_records": "Records in Kafka the tail has not delivered yet, by topic and partition.",
    ]

    init(version: String) {
        Gauge(label: "herald_build_info", dimensions: [("version", version)]).record(1)
    }

    private let commandErrors = LabeledCounter("herald_command_errors_total", by: "code")
    private let disconnects = LabeledCounter("herald_disconnects_total", by: "code")
    private let recoveries = LabeledCounter("herald_recoveries_total", by: "outcome")

    /// Errors answered to client commands, by error code.
    func commandError(_ error: ProtocolError) {
        commandErrors.increment(String(error.code))
    }

    /// Connections Herald closed, by close code (the protocol's and WebSocket's).
    public func disconnect(code: Int) {
        disconnects.increment(String(code))
    }

    /// Subscribe replies of subscribers that asked to recover: `recovered` or `not_recovered`.
    func recovery(recovered: Bool) {
        recoveries.increment(recovered ? "recovered" : "not_recovered")
    }

    /// Sets the gauges of state from `node` and its loops' last figures, just before a scrape.
    func refresh(_ node: Node) {
        let info = node.info()
        connections.record(info.numClients)
        users.record(info.numUsers)
        channels.record(info.numChannels)
        subscriptions.record(info.numSubscriptions)
        let totals = node.summedLoopTotals()
        queuedBytes.record(totals.bytes)
        queuedFrames.record(totals.frames)
        dataStreams.record(totals.dataStreams)
        if let bridge = node.bridge {
            for partition in bridge.status().partitions {
                Gauge(label: "herald_kafka_lag_records",
                      dimensions: [("topic", partition.topic), ("partition", String(partition.partition))])
                    .record(partition.lag)
            }
        }
    }
}

/// What one loop counted at its last tick (its outgoing queues, its data streams): written by the loop, read
/// by a scrape.
final class LoopTotals: Sendable {
    let bytes = Atomic<Int>(0)
    let frames = Atomic<Int>(0)
    let dataStreams = Atomic<Int>(0)
}
