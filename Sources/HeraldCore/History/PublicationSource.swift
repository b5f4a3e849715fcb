import Synchronization

/// A publication as the subscribers other than the common ones get it, each form built at most once, by the
/// first loop that needs it, and shared:
/// - with Fossil delta compression (JSON protocol: the data travels as a JSON string), the whole
///   publication or a delta from the channel's previous publication;
/// - as the data alone, for data streams (`DataSubscriber`): a raw WebSocket text frame, or a Server-Sent
///   Event (with its `id` for a stream of this channel alone, without it for streams of several channels).
///
/// Made only for channels whose namespace allows deltas or that have data-stream subscribers, so the common
/// fan-out allocates nothing for it.
public final class PublicationSource: Sendable {
    let channel: String
    /// 0 for a channel without history.
    let offset: UInt64
    let epoch: String
    let data: [UInt8]
    /// The channel's publication before this one, the base a delta applies to, if history still had it.
    let previous: HistoryPublication?
    let info: ClientInfo?
    private let deltaFrames = Mutex<(full: Frame, delta: Frame?)?>(nil)
    private let dataForms = Mutex<DataForms>(DataForms())

    private struct DataForms {
        var webSocket: Frame?
        var event: Frame?
        var eventWithoutID: Frame?
    }

    init(channel: String, offset: UInt64, epoch: String, data: [UInt8], previous: HistoryPublication? = nil,
         info: ClientInfo? = nil) {
        self.channel = channel
        self.offset = offset
        self.epoch = epoch
        self.data = data
        self.previous = previous
        self.info = info
    }

    var position: StreamPosition? { offset == 0 ? nil : StreamPosition(offset: offset, epoch: epoch) }

    // MARK: Delta compression

    /// The frame for a subscriber whose last publication of the channel was `lastOffset`: a delta when it
    /// holds the base and the delta is smaller, the whole data otherwise.
    func frame(after lastOffset: UInt64) -> Frame {
        let built = deltaFrames.withLock { frames in
            if let frames { return frames }
            let built = buildDeltaFrames()
            frames = built
            return built
        }
        if lastOffset == previous?.offset, let delta = built.delta { return delta }
        return built.full
    }

    private func buildDeltaFrames() -> (full: Frame, delta: Frame?) {
        let full = Frame(text: encode(data, isDelta: false))
        guard let previous = previous?.data, let patch = Self.patch(from: previous, to: data) else {
            return (full, nil)
        }
        return (full, Frame(text: encode(patch, isDelta: true)))
    }

    /// The Fossil delta from `previous` to `data`, when it is worth sending: smaller than `data`, and UTF-8,
    /// since it travels as a JSON string (a delta that cut a character in two is not). Nil: send `data`.
    static func patch(from previous: [UInt8], to data: [UInt8]) -> [UInt8]? {
        let patch = FossilDelta.create(from: previous, to: data)
        guard patch.count < data.count, String(validating: patch, as: UTF8.self) != nil else { return nil }
        return patch
    }

    private func encode(_ data: [UInt8], isDelta: Bool) -> [UInt8] {
        var writer = JSONWriter(capacity: data.count + channel.utf8.count + 80)
        ReplyEncoder.publicationPush(channel: channel,
                                     publication: .init(data: data, offset: offset, info: info,
                                                        dataAsString: true, delta: isDelta),
                                     into: &writer)
        return writer.bytes
    }

    // MARK: Data streams

    /// The data as one WebSocket text frame.
    var webSocketFrame: Frame {
        dataForms.withLock { forms in
            if let frame = forms.webSocket { return frame }
            let frame = Frame(text: data)
            forms.webSocket = frame
            return frame
        }
    }

    /// The Server-Sent Event, with this publication's position as its `id` when `withID` (a stream of this
    /// channel alone) and without (a stream of several channels sends its own `id` line before it). The data
    /// is one line: `Node.singleLine` made it so.
    func event(withID: Bool) -> Frame {
        dataForms.withLock { forms in
            if withID, let frame = forms.event { return frame }
            if !withID, let frame = forms.eventWithoutID { return frame }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(data.count + 40)
            if withID, let position { bytes += EventStreamID.line([position]) }
            bytes += "data: ".utf8
            bytes += data
            bytes += "\n\n".utf8
            let frame = Frame(raw: bytes)
            if withID { forms.event = frame } else { forms.eventWithoutID = frame }
            return frame
        }
    }
}
