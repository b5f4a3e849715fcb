/// One channel's stream: its position and the publications still in history, oldest first. Guarded by
/// `HistoryStore`'s per-channel lock.
struct ChannelStream {
    private(set) var epoch: String
    private(set) var top: UInt64
    /// `items[head...]` are the kept publications; the dead prefix is dropped once it is half the storage,
    /// so trimming from the front is amortized O(1).
    private var items: ContiguousArray<HistoryPublication> = []
    private var head = 0
    private(set) var byteCount = 0

    init(epoch: String = StreamPosition.newEpoch(), top: UInt64 = 0, publications: [HistoryPublication] = []) {
        self.epoch = epoch
        self.top = top
        items = ContiguousArray(publications)
        byteCount = publications.reduce(0) { $0 + $1.retainedBytes }
    }

    var position: StreamPosition { StreamPosition(offset: top, epoch: epoch) }
    var count: Int { items.count - head }
    var publications: ArraySlice<HistoryPublication> { items[head...] }
    var latest: HistoryPublication? { count > 0 ? items.last : nil }
    /// The offset of the oldest publication kept, or `top + 1` when none is.
    var firstOffset: UInt64 { count > 0 ? items[head].offset : top + 1 }

    mutating func append(_ publication: HistoryPublication, limits: HistoryLimits) {
        top = publication.offset
        items.append(publication)
        byteCount += publication.retainedBytes
        trim(now: publication.time, limits: limits)
    }

    /// Drops what is over the count, byte or age bound.
    mutating func trim(now: Int64, limits: HistoryLimits) {
        let floor = limits.keepLatest ? 1 : 0
        while count > max(limits.size, floor) || (limits.maxBytes > 0 && byteCount > limits.maxBytes && count > floor) {
            dropFirst()
        }
        while count > floor, items[head].time <= now - limits.ttlMilliseconds {
            dropFirst()
        }
    }

    private mutating func dropFirst() {
        byteCount -= items[head].retainedBytes
        head += 1
        if head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Forgets every publication and starts a new epoch at offset 0 (`history_remove`).
    mutating func reset(epoch: String = StreamPosition.newEpoch()) {
        self = ChannelStream(epoch: epoch)
    }

    /// Publications after `offset`, oldest first, at most `limit` (nil: all).
    func publications(after offset: UInt64, limit: Int?) -> ArraySlice<HistoryPublication> {
        // Offsets are consecutive within an epoch, so the start is found by arithmetic.
        let skipped = offset < firstOffset ? 0 : Int(min(offset - firstOffset + 1, UInt64(count)))
        let start = head + skipped
        let end = limit.map { start + min($0, items.endIndex - start) } ?? items.endIndex
        return items[start..<end]
    }

    func publication(at offset: UInt64) -> HistoryPublication? {
        guard count > 0, offset >= items[head].offset, offset <= top else { return nil }
        let publication = items[head + Int(offset - items[head].offset)]
        return publication.offset == offset ? publication : nil
    }
}
