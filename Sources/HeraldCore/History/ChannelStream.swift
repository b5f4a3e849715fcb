/// One channel's stream: its position and the publications still in history, oldest first. Guarded by
/// `HistoryStore`'s per-channel lock.
///
/// Offsets grow but need not be consecutive: a channel bridged from Kafka takes its records' partition
/// offsets, and other channels' records sit between them. What the stream promises is `coveredFrom`: it
/// holds every publication of the channel from that offset up to `top`.
struct ChannelStream {
    private(set) var epoch: String
    private(set) var top: UInt64
    private(set) var coveredFrom: UInt64
    /// `items[head...]` are the kept publications; the dead prefix is dropped once it is half the storage,
    /// so trimming from the front is amortized O(1).
    private var items: ContiguousArray<HistoryPublication> = []
    private var head = 0
    private(set) var byteCount = 0
    /// Offsets subscribers catching up from Kafka will join at: trimming keeps publications from the lowest
    /// one on, up to `pinSlack` publications beyond the bounds, so that the window does not move past them
    /// while they read (it would, whenever the window spans less time than a read from Kafka takes).
    private var pins: [UInt64] = []
    private var pinSlack = 0

    init(epoch: String = StreamPosition.newEpoch(), top: UInt64 = 0, publications: [HistoryPublication] = []) {
        self.init(epoch: epoch, top: top, coveredFrom: publications.first?.offset ?? top + 1, publications: publications)
    }

    init(epoch: String, top: UInt64, coveredFrom: UInt64, publications: [HistoryPublication] = []) {
        self.epoch = epoch
        self.top = top
        self.coveredFrom = coveredFrom
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

    /// Drops what is over the count, byte or age bound, except what a pin holds.
    mutating func trim(now: Int64, limits: HistoryLimits) {
        let floor = limits.keepLatest ? 1 : 0
        while count > max(limits.size, floor) || (limits.maxBytes > 0 && byteCount > limits.maxBytes && count > floor) {
            if isPinned(limits) { break }
            dropFirst()
        }
        while count > floor, items[head].time <= now - limits.ttlMilliseconds, !isPinned(limits) {
            dropFirst()
        }
    }

    private func isPinned(_ limits: HistoryLimits) -> Bool {
        guard let lowest = pins.min() else { return false }
        return items[head].offset >= lowest && count <= limits.size + pinSlack
    }

    /// Holds publications from `offset` on (at most `slack` beyond the bounds) until `unpin(offset)`.
    mutating func pin(_ offset: UInt64, slack: Int) {
        pins.append(offset)
        pinSlack = max(pinSlack, slack)
    }

    mutating func unpin(_ offset: UInt64) {
        if let index = pins.firstIndex(of: offset) { pins.remove(at: index) }
        if pins.isEmpty { pinSlack = 0 }
    }

    private mutating func dropFirst() {
        coveredFrom = items[head].offset + 1
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

    /// Forgets every publication and continues empty in `epoch` (a bridged channel's partition) at `top`,
    /// knowing every publication of the channel from `coveredFrom` on.
    mutating func rebind(epoch: String, top: UInt64, coveredFrom: UInt64) {
        self = ChannelStream(epoch: epoch, top: top, coveredFrom: coveredFrom)
    }

    /// Publications after `offset`, oldest first, at most `limit` (nil: all).
    func publications(after offset: UInt64, limit: Int?) -> ArraySlice<HistoryPublication> {
        let start = index(after: offset)
        let end = limit.map { start + min($0, items.endIndex - start) } ?? items.endIndex
        return items[start..<end]
    }

    func publication(at offset: UInt64) -> HistoryPublication? {
        guard offset > 0 else { return nil }
        let found = index(after: offset - 1)
        return found < items.endIndex && items[found].offset == offset ? items[found] : nil
    }

    /// The index of the first kept publication with an offset above `offset` (binary search).
    private func index(after offset: UInt64) -> Int {
        var low = head, high = items.endIndex
        while low < high {
            let middle = (low + high) / 2
            if items[middle].offset <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
