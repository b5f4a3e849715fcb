import Synchronization

/// A publication as subscribers with Fossil delta compression get it: in the JSON protocol the data travels
/// as a JSON string, either the whole publication (`delta` false) or a Fossil delta from the previous
/// publication of the channel (`delta` true). Both frames are built at most once, by the first loop that
/// needs them, and shared.
public final class DeltaSource: Sendable {
    let channel: String
    let offset: UInt64
    let data: [UInt8]
    /// The channel's publication before this one, the base a delta applies to, if history still had it.
    let previous: HistoryPublication?
    let info: ClientInfo?
    private let frames = Mutex<(full: Frame, delta: Frame?)?>(nil)

    init(channel: String, offset: UInt64, data: [UInt8], previous: HistoryPublication?, info: ClientInfo?) {
        self.channel = channel
        self.offset = offset
        self.data = data
        self.previous = previous
        self.info = info
    }

    /// The frame for a subscriber whose last publication of the channel was `lastOffset`: a delta when it
    /// holds the base and the delta is smaller, the whole data otherwise.
    func frame(after lastOffset: UInt64) -> Frame {
        let built = frames.withLock { frames in
            if let frames { return frames }
            let built = Self.build(self)
            frames = built
            return built
        }
        if lastOffset == previous?.offset, let delta = built.delta { return delta }
        return built.full
    }

    private static func build(_ source: DeltaSource) -> (full: Frame, delta: Frame?) {
        let full = Frame(text: encode(source, data: source.data, isDelta: false))
        guard let previous = source.previous?.data, let patch = patch(from: previous, to: source.data) else {
            return (full, nil)
        }
        return (full, Frame(text: encode(source, data: patch, isDelta: true)))
    }

    /// The Fossil delta from `previous` to `data`, when it is worth sending: smaller than `data`, and UTF-8,
    /// since it travels as a JSON string (a delta that cut a character in two is not). Nil: send `data`.
    static func patch(from previous: [UInt8], to data: [UInt8]) -> [UInt8]? {
        let patch = FossilDelta.create(from: previous, to: data)
        guard patch.count < data.count, String(validating: patch, as: UTF8.self) != nil else { return nil }
        return patch
    }

    private static func encode(_ source: DeltaSource, data: [UInt8], isDelta: Bool) -> [UInt8] {
        var writer = JSONWriter(capacity: data.count + source.channel.utf8.count + 80)
        ReplyEncoder.publicationPush(channel: source.channel,
                                     publication: .init(data: data, offset: source.offset, info: source.info,
                                                        dataAsString: true, delta: isDelta),
                                     into: &writer)
        return writer.bytes
    }
}
