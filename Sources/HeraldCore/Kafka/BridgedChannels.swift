/// Bridged channels as subscribers and publishers meet them: bound to their partition's epoch before any
/// record arrives, and published into by producing a record that maps back to them.
extension KafkaBridge {
    /// With `channel`'s stream locked: the stream of a channel that names its partition (by `{key}`,
    /// through the murmur2 partitioner, or by `{partition}`) takes that partition's epoch before any record
    /// of it arrives, at the tail's current offset, so that its first subscribers can recover. A stream
    /// already in a partition's current epoch stays: records decide, should a producer partition otherwise.
    func bind(_ channel: String, _ stream: inout ChannelStream) {
        guard let route = route(for: channel) else { return }
        let (topic, fields) = (route.bridge.config.topic, route.fields)
        state.withLock { state in
            guard let count = state.partitionCounts[topic], count > 0,
                  !state.partitions.values.contains(where: { $0.epoch == stream.epoch }) else { return }
            let partition = fields.partition ?? fields.key.map { Murmur2.partition(key: $0, partitions: count) }
            guard let partition, let partitionState = state.partitions[PartitionKey(topic: topic, partition: partition)]
            else { return }
            // No record of this channel up to `lastDelivered` was delivered, or the stream would be bound.
            stream.rebind(epoch: partitionState.epoch, top: UInt64(partitionState.lastDelivered + 1),
                          coveredFrom: UInt64(partitionState.coveredFrom) + 1)
        }
    }

    /// Produces a publish into a bridged channel as a record that maps back to it; `completion` gets the
    /// position once Kafka acknowledged it. Subscribers get it from the tail, like any record.
    func publish(channel: String, data: [UInt8], route: ChannelRoute, completion: @escaping PublishCompletion)
        throws(ProtocolError) -> PublishAck {
        guard let link else { throw .notAvailable }
        guard let value = route.bridge.config.data.recordValue(data) else { throw .badRequest }
        let (topic, fields) = (route.bridge.config.topic, route.fields)
        link.produce(OutgoingRecord(topic: topic, partition: fields.partition, key: fields.key,
                                    headers: fields.headers, value: value)) { [weak self] outcome in
            switch outcome {
            case .success(let (partition, offset)):
                let epoch = self?.epoch(topic: topic, partition: partition)
                    ?? StreamPosition.kafkaEpoch(topic: topic, partition: partition, generation: 0)
                completion(.success(StreamPosition(offset: UInt64(offset) + 1, epoch: epoch)))
            case .failure(.busy):
                // librdkafka's producer queue is full: the same answer as any other full queue.
                completion(.failure(.tooManyRequests))
            case .failure(let failure):
                completion(.failure(ProtocolError(code: ProtocolError.internalError.code, message: "kafka: \(failure)")))
            }
        }
        return .pending
    }

    func epoch(topic: String, partition: Int32) -> String? {
        state.withLock { $0.partitions[PartitionKey(topic: topic, partition: partition)]?.epoch }
    }
}
