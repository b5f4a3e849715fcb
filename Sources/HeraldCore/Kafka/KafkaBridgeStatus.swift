/// What the bridge reports in `/health` and `/api/info`.
extension KafkaBridge {
    public struct Status: Sendable {
        public struct Partition: Sendable {
            public let topic: String
            public let partition: Int32
            public let epoch: String
            /// The next offset the tail will deliver.
            public let position: Int64
            /// Records in Kafka the tail has not delivered yet; -1 until the broker told the end offset.
            public let lag: Int64
        }

        public let connected: Bool
        public let detail: String
        public let records: Int
        public let skipped: [String: Int]
        /// Subscribers caught up from Kafka, and catch-ups that could not be served (not recovered).
        public let catchUps: Int
        public let catchUpsFailed: Int
        public let partitions: [Partition]
    }

    public func status() -> Status {
        state.withLock { state in
            let partitions = state.partitions.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
                .map { key, value in
                    Status.Partition(topic: key.topic, partition: key.partition, epoch: value.epoch,
                                     position: value.lastDelivered + 1,
                                     lag: value.highWatermark < 0 ? -1 : max(0, value.highWatermark - value.lastDelivered - 1))
                }
            let skipped = Dictionary(uniqueKeysWithValues: state.problems.map { ("\($0.key)", $0.value) })
            return Status(connected: state.connected, detail: state.detail, records: state.records, skipped: skipped,
                          catchUps: state.catchUps, catchUpsFailed: state.catchUpsFailed, partitions: partitions)
        }
    }
}

extension KafkaBridge.Status {
    /// `{"status":"ok"|"degraded","detail":…,"records":N,"skipped":{kind:N},"catch_ups":N,
    /// "catch_ups_failed":N,"partitions":[…]}`, as
    /// `/health` and `/api/info` show it; `lag` is -1 until the broker told the partition's end.
    func write(into out: inout JSONWriter) {
        out.appendRaw("{\"status\":")
        out.appendString(connected ? "ok" : "degraded")
        out.appendRaw(",\"detail\":")
        out.appendString(detail)
        out.appendRaw(",\"records\":")
        out.appendInt(records)
        out.appendRaw(",\"skipped\":{")
        for (index, (kind, count)) in skipped.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.appendRaw(",") }
            out.appendString(kind)
            out.appendRaw(":")
            out.appendInt(count)
        }
        out.appendRaw("},\"catch_ups\":")
        out.appendInt(catchUps)
        out.appendRaw(",\"catch_ups_failed\":")
        out.appendInt(catchUpsFailed)
        out.appendRaw(",\"partitions\":[")
        for (index, partition) in partitions.enumerated() {
            if index > 0 { out.appendRaw(",") }
            out.appendRaw("{\"topic\":")
            out.appendString(partition.topic)
            out.appendRaw(",\"partition\":")
            out.appendInt(Int(partition.partition))
            out.appendRaw(",\"epoch\":")
            out.appendString(partition.epoch)
            out.appendRaw(",\"position\":")
            out.appendInt(Int(partition.position))
            out.appendRaw(",\"lag\":")
            out.appendInt(Int(partition.lag))
            out.appendRaw("}")
        }
        out.appendRaw("]}")
    }
}
