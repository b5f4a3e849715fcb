/// How a subscriber joins a channel with history: in step with the channel's stream, recovering what it
/// missed from memory or, for a channel bridged from Kafka, from Kafka first.
extension ClientSession {
    /// Publications read from Kafka for a subscriber catching up from a position older than memory:
    /// every publication of the channel after the client's offset up to `through`, oldest first.
    struct CaughtUp {
        var publications: [HistoryPublication] = []
        var through: UInt64
        var rounds = 0
        /// Kafka could not serve it (log start passed, readers busy, broker down): not recovered.
        var failed = false
        /// The offset the stream is pinned at for this read; the next join under the channel's lock lets go.
        var pinned: UInt64 = 0
    }

    /// Joins a channel with history. Under the channel's lock: the loop is registered for the channel's
    /// publications, the reply (position, recovered publications) is computed, and a task is posted to this
    /// loop that puts the subscription in the index. Publications before the lock reach this loop before
    /// the task and are in the recovery or before the position; those after reach it after the task and
    /// are sent live: each exactly once.
    ///
    /// A bridged channel's subscriber whose position is older than what memory covers first gets the
    /// publications in between read from Kafka (`caughtUp`), off the loop, then joins again from there.
    func joinStream(id: UInt32, _ request: ClientCommand.SubscribeRequest, _ options: NamespaceOptions,
                    caughtUp: CaughtUp? = nil) throws(ProtocolError) {
        enum Outcome {
            case joined
            case catchUp(epoch: String, from: UInt64, until: UInt64)
        }
        let channel = request.channel
        let recoveryEnabled = options.forceRecovery || request.recoverable
        let positioned = recoveryEnabled || options.forcePositioning || request.positioned
        let recoveryRequest = Recovery.Request(
            recover: request.recover, offset: caughtUp?.through ?? request.offset, epoch: request.epoch,
            rejectUnrecovered: request.flag & ClientCommand.SubscribeRequest.rejectUnrecoveredFlag != 0)
        let alreadyRead = caughtUp?.publications ?? []
        let publicationBudget = settings.recoveryMaxPublicationLimit - alreadyRead.count
        let byteBudget = settings.queueMaxSize / 2 - alreadyRead.reduce(0) { $0 + $1.replyBytes }
        let entry = node.history.entry(channel)
        let limits = HistoryLimits(options)
        /// Under the lock: from here the loop gets the channel's publications, after the join task.
        func register(_ recovery: Recovery, top: UInt64) -> Outcome {
            node.channels.added(channel: channel, loop: loop.index)
            loop.inbox.post(.run(LoopTask { [weak self] in
                self?.joined(channel, id: id, recovery, top: top, recoverable: recoveryEnabled, positioned: positioned)
            }))
            return .joined
        }
        let outcome: Result<Outcome, ProtocolError> = entry.stream.withLock { stream in
            // The previous read's pin holds the window while this join is computed, and no longer.
            defer { if let caughtUp { stream.unpin(caughtUp.pinned) } }
            node.bridge?.bind(channel, &stream)
            stream.trim(now: WallClock.nowMilliseconds(), limits: limits)
            if caughtUp?.failed == true {
                if recoveryRequest.rejectUnrecovered { return .failure(.unrecoverablePosition) }
                return .success(register(Recovery(position: stream.position, publications: [], recovered: false,
                                                  wasRecovering: true), top: stream.top))
            }
            if recoveryEnabled, options.forceRecoveryMode == .stream, (caughtUp?.rounds ?? 0) < 3,
               let range = node.bridge?.catchUpRange(stream, request: recoveryRequest) {
                stream.pin(range.until, slack: settings.recoveryMaxPublicationLimit)
                return .success(.catchUp(epoch: stream.epoch, from: range.from, until: range.until))
            }
            do throws(ProtocolError) {
                var recovery = try Recovery.join(
                    stream, mode: options.forceRecoveryMode, enabled: recoveryEnabled, request: recoveryRequest,
                    maxPublications: publicationBudget, maxBytes: byteBudget)
                if let caughtUp, recovery.recovered {
                    recovery.publications = caughtUp.publications + recovery.publications
                    recovery.position.offset = request.offset
                }
                return .success(register(recovery, top: stream.top))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(.joined):
            subscriptions[channel]?.slot = Subscription.awaitingJoin
        case .success(.catchUp(let epoch, let from, let until)):
            var next = caughtUp ?? CaughtUp(through: request.offset)
            next.rounds += 1
            next.pinned = until
            let done = LoopCallback(inbox: loop.inbox) {
                [weak self] (read: Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>) in
                switch read {
                case .success(let (publications, through)):
                    next.publications += publications
                    next.through = through
                case .failure:
                    next.failed = true
                }
                // A client gone meanwhile must not leave a pin behind.
                guard let self, self.continueJoin(id: id, request, options, next) else {
                    entry.stream.withLock { $0.unpin(until) }
                    return
                }
            }
            node.bridge!.catchUp(channel: channel, epoch: epoch, from: from, until: until,
                                 maxPublications: publicationBudget, maxBytes: byteBudget) { done($0) }
        case .failure(let error):
            unsubscribe(from: channel)
            throw error
        }
    }

    /// Back on the loop after a read from Kafka: joins from where the read ended (letting go of the pin),
    /// unless the client left; false then.
    private func continueJoin(id: UInt32, _ request: ClientCommand.SubscribeRequest, _ options: NamespaceOptions,
                              _ caughtUp: CaughtUp) -> Bool {
        guard state == .connected, let subscription = subscriptions[request.channel],
              subscription.slot == Subscription.notRegistered, subscription.joinID == id else { return false }
        do throws(ProtocolError) {
            try joinStream(id: id, request, options, caughtUp: caughtUp)
        } catch {
            var reply = JSONWriter(capacity: 64)
            answerError(id, error, into: &reply)
            output.send(Frame(text: reply.bytes))
        }
        return true
    }

    /// Joins a channel with history from its stream's current position, recovering nothing (a server-side
    /// subscription): registered under the channel's lock like `joinStream`, so every later publication
    /// reaches it exactly once. Returns the position it joins at.
    func joinLive(_ channel: String) -> StreamPosition {
        let position = node.history.entry(channel).stream.withLock { stream in
            node.bridge?.bind(channel, &stream)
            node.channels.added(channel: channel, loop: loop.index)
            loop.inbox.post(.run(LoopTask { [weak self] in self?.enterIndex(channel, lastOffset: 0, checkedEpoch: nil) }))
            return stream.position
        }
        subscriptions[channel]?.slot = Subscription.awaitingJoin
        return position
    }

    /// The loop reached the point where `channel`'s stream was when this subscriber joined: from here on it
    /// gets the channel's publications live. `top` is the stream's offset at that point.
    private func joined(_ channel: String, id: UInt32, _ recovery: Recovery, top: UInt64, recoverable: Bool,
                        positioned: Bool) {
        guard state != .closed else { return }
        if recovery.wasRecovering { node.metrics.recovery(recovered: recovery.recovered) }
        let delta = subscriptions[channel]?.delta ?? false
        var result = ReplyEncoder.SubscribeResult(
            ttl: secondsLeft(until: subscriptions[channel]?.expiresAt),
            recoverable: recoverable, positioned: positioned, position: recovery.position,
            wasRecovering: recovery.wasRecovering, recovered: recovery.recovered, delta: delta)
        result.publications = Self.wireForm(recovery.publications, delta: delta)
        // A delta needs the publication before it; the subscriber has that only if this reply sent it.
        enterIndex(channel, lastOffset: recovery.publications.isEmpty ? 0 : top,
                   checkedEpoch: positioned ? recovery.position.epoch : nil)
        var reply = JSONWriter(capacity: 128)
        ReplyEncoder.subscribe(id: id, result, into: &reply)
        output.send(Frame(text: reply.bytes))
    }

    /// Puts a joining subscription in the loop's index, unless it left meanwhile.
    private func enterIndex(_ channel: String, lastOffset: UInt64, checkedEpoch: String?) {
        guard state != .closed, var subscription = subscriptions[channel], !subscription.joined else { return }
        subscription.slot = loop.channelIndex.add(self, to: channel, delta: subscription.delta)
        subscription.lastOffset = lastOffset
        subscription.checkedEpoch = checkedEpoch
        subscriptions[channel] = subscription
    }

    /// Recovered publications as the subscriber reads them: with delta compression, the first whole and
    /// each next one as a delta from the one before, all as JSON strings.
    private static func wireForm(_ publications: [HistoryPublication], delta: Bool) -> [ReplyEncoder.PublicationFields] {
        guard delta else {
            return publications.map { .init(data: $0.data, offset: $0.offset, info: $0.info) }
        }
        var previous: [UInt8]?
        return publications.map { publication in
            defer { previous = publication.data }
            if let previous, let patch = PublicationSource.patch(from: previous, to: publication.data) {
                return .init(data: patch, offset: publication.offset, info: publication.info,
                             dataAsString: true, delta: true)
            }
            return .init(data: publication.data, offset: publication.offset, info: publication.info, dataAsString: true)
        }
    }
}
