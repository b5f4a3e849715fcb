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
