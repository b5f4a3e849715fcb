/// The `id` of a Server-Sent Event, and the `since` parameter in the same form: one stream position per
/// channel of the stream, in the order of its `channel` parameters, separated by commas; a position is
/// `OFFSET:EPOCH`, or just `OFFSET` (the epoch then is not checked), or empty for a channel without history
/// (or, in `since`, for a channel to join live). A stream of one channel with history: `17:aBcD1234`.
///
/// Positional rather than named, so channel names (which may hold commas and colons) never need escaping: a
/// browser's `EventSource` reconnects to the same URL and sends the last id back as `Last-Event-ID`.
enum EventStreamID {
    /// `id: …` and a line break.
    static func line(_ positions: [StreamPosition?]) -> [UInt8] {
        var bytes = Array("id: ".utf8)
        for (index, position) in positions.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if let position {
                bytes += String(position.offset).utf8
                bytes.append(UInt8(ascii: ":"))
                bytes += position.epoch.utf8
            }
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// The positions in `text` for `channelCount` channels; nil entries join live.
    static func parse(_ text: String, channelCount: Int) throws(HTTPError) -> [StreamPosition?] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        guard entries.count == channelCount else {
            throw HTTPError(status: 400, message: "since and Last-Event-ID give one position per channel, "
                                + "comma-separated in the order of the channel parameters (OFFSET or OFFSET:EPOCH)")
        }
        return try entries.map { entry throws(HTTPError) -> StreamPosition? in
            guard !entry.isEmpty else { return nil }
            let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let offset = UInt64(parts[0]),
                  parts.count == 1 || parts[1].utf8.allSatisfy(StreamPosition.epochAlphabet.contains) else {
                throw HTTPError(status: 400, message: "a stream position is OFFSET or OFFSET:EPOCH, not \(entry.prefix(40))")
            }
            return StreamPosition(offset: offset, epoch: parts.count == 2 ? String(parts[1]) : "")
        }
    }
}
