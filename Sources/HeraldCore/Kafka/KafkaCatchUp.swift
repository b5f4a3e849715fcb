import Synchronization

/// Catch-up from Kafka: a recovering subscriber whose position is older than the channel's memory window
/// gets the records in between read from Kafka by a catch-up reader.
extension KafkaBridge {
    /// With the stream locked: the channel offsets `from..<until` a recovering subscriber needs read from
    /// Kafka, because memory covers the channel only from `until` on; nil when memory is enough or the
    /// position cannot be recovered at all (another epoch, past the top: `Recovery.join` answers those).
    func catchUpRange(_ stream: ChannelStream, request: Recovery.Request) -> (from: UInt64, until: UInt64)? {
        guard request.recover, request.epoch.isEmpty || request.epoch == stream.epoch,
              request.offset <= stream.top, request.offset + 1 < stream.coveredFrom,
              partition(ofEpoch: stream.epoch) != nil else { return nil }
        return (request.offset + 1, stream.coveredFrom)
    }

    func partition(ofEpoch epoch: String) -> PartitionKey? {
        state.withLock { state in state.partitions.first { $0.value.epoch == epoch }?.key }
    }

    /// Reads the publications of `channel` at channel offsets `from..<until` from Kafka on a catch-up
    /// reader; `completion` gets them oldest first with the channel offset the read covers through (short
    /// of `until - 1` if the partition ended first), or why not (then the subscriber is not recovered).
    func catchUp(channel: String, epoch: String, from: UInt64, until: UInt64, maxPublications: Int, maxBytes: Int,
                 completion: @escaping @Sendable (Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>) -> Void) {
        guard let key = partition(ofEpoch: epoch), let route = routesByTopic[key.topic],
              let link else { return completion(.failure(.kafka("no such partition"))) }
        guard until - from <= UInt64(settings.catchUpMaxScan) else {
            state.withLock { $0.catchUpsFailed += 1 }
            return completion(.failure(.tooFarBehind))
        }
        let collected = Mutex<(publications: [HistoryPublication], bytes: Int, overflow: Bool)>(([], 0, false))
        let now = WallClock.nowMilliseconds()
        link.read(topic: key.topic, partition: key.partition, from: Int64(from) - 1, until: Int64(until) - 1,
                  visit: { [weak self] record in
                      guard let self, case .success(let (name, _, data)) = self.publication(of: record, route),
                            name == channel else { return true }
                      return collected.withLock { collected in
                          let publication = HistoryPublication(offset: UInt64(record.offset) + 1, time: now, data: data, info: nil)
                          collected.publications.append(publication)
                          collected.bytes += publication.replyBytes
                          collected.overflow = collected.publications.count > maxPublications || collected.bytes > maxBytes
                          return !collected.overflow
                      }
                  },
                  completion: { [weak self, logger] outcome in
                      let (publications, _, overflow) = collected.withLock { $0 }
                      if case .failure(let failure) = outcome {
                          logger.debug("kafka: catch-up of \(channel) from \(key.topic)[\(key.partition)]@\(from - 1) failed: \(failure)")
                      }
                      self?.state.withLock { state in
                          if case .success = outcome, !overflow { state.catchUps += 1 } else { state.catchUpsFailed += 1 }
                      }
                      switch outcome {
                      case .success where overflow: completion(.failure(.tooFarBehind))
                      // Kafka offset `next` is channel offset `next + 1`: covered through `next`.
                      case .success(let next): completion(.success((publications, UInt64(next))))
                      case .failure(let failure): completion(.failure(failure))
                      }
                  })
    }
}
