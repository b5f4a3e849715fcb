extension StreamPosition {
    /// The epoch of a bridged channel in `partition` of `topic`: the same on every node, so a client can
    /// recover on any of them. `generation` counts the times this node saw the partition's log start over
    /// (topic recreated, data lost): positions from before are then refused rather than misread.
    static func kafkaEpoch(topic: String, partition: Int32, generation: Int) -> String {
        derivedEpoch(from: "\(topic)/\(partition)/\(generation)")
    }
}
