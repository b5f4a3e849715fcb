/// What a subscriber to a channel with history gets when it joins: the reply's position, whether its
/// missed publications could be recovered, and those publications. Computed under the channel's lock, so
/// the stream cannot move between this answer and the subscriber going live.
struct Recovery: Equatable {
    /// The position the reply states: the client's own when recovered (it then reaches the top by
    /// processing the publications), the stream's top otherwise.
    var position: StreamPosition
    var publications: [HistoryPublication]
    var recovered: Bool
    var wasRecovering: Bool

    /// The client's side of the subscribe: `recover`, `offset`, `epoch`, and the SDK's flag asking for
    /// error 112 instead of `recovered: false`.
    struct Request: Equatable {
        var recover = false
        var offset: UInt64 = 0
        var epoch = ""
        var rejectUnrecovered = false
    }

    /// `maxPublications`: `client.recovery_max_publication_limit`; missing more is not recoverable.
    /// `maxBytes`: what the reply may carry; a recovery bigger than the subscriber's outgoing queue could
    /// hold would only get it disconnected as slow, so that too answers `recovered: false`.
    static func join(_ stream: ChannelStream, mode: RecoveryMode, enabled: Bool, request: Request,
                     maxPublications: Int, maxBytes: Int = .max) throws(ProtocolError) -> Recovery {
        let top = stream.position
        guard enabled else {
            return Recovery(position: top, publications: [], recovered: false, wasRecovering: false)
        }
        switch mode {
        case .stream:
            guard request.recover else {
                return Recovery(position: top, publications: [], recovered: false, wasRecovering: false)
            }
            let sameEpoch = request.epoch.isEmpty || request.epoch == top.epoch
            // An offset past the top of the same epoch was never given out: a client bug, not a lost state.
            if sameEpoch && request.offset > top.offset { throw .badRequest }
            let missed = sameEpoch ? stream.publications(after: request.offset, limit: nil) : []
            let recovered = sameEpoch && missed.count <= maxPublications
                && request.offset + 1 >= stream.coveredFrom
                && missed.reduce(0) { $0 + $1.replyBytes } <= maxBytes
            if !recovered && request.rejectUnrecovered { throw .unrecoverablePosition }
            return recovered
                ? Recovery(position: StreamPosition(offset: request.offset, epoch: top.epoch),
                           publications: Array(missed), recovered: true, wasRecovering: true)
                : Recovery(position: top, publications: [], recovered: false, wasRecovering: true)
        case .cache:
            // Every subscriber gets the channel's current value, the latest publication (Centrifugo's cache
            // recovery, forced for first subscribes too): configuration push.
            let upToDate = request.recover && request.offset == top.offset && request.epoch == top.epoch
            guard let latest = stream.latest, latest.offset == top.offset else {
                return Recovery(position: top, publications: [], recovered: upToDate, wasRecovering: true)
            }
            if upToDate {
                return Recovery(position: top, publications: [], recovered: true, wasRecovering: true)
            }
            return Recovery(position: StreamPosition(offset: latest.offset - 1, epoch: top.epoch),
                            publications: [latest], recovered: true, wasRecovering: true)
        }
    }
}
