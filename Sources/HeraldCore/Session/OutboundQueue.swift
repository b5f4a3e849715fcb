/// A connection's frames waiting for the socket, bounded in bytes and in messages.
///
/// At the bound `push` refuses the frame and the caller closes the connection as a slow consumer: memory
/// never grows without bound and one stalled reader never holds up the others. A caught-up connection keeps
/// a small array's storage, so steady fan-out allocates nothing per delivery, and gives back a large one.
public struct OutboundQueue {
    public let maxBytes: Int
    public let maxMessages: Int
    private var frames: [Frame] = []
    private var head = 0
    public private(set) var byteCount = 0
    /// Messages queued: a joined `Frame` counts each it holds.
    public private(set) var messageCount = 0

    private static let retainedCapacity = 16

    public init(maxBytes: Int, maxMessages: Int) {
        self.maxBytes = maxBytes
        self.maxMessages = maxMessages
    }

    public var isEmpty: Bool { head == frames.count }
    /// Queue entries (frames, joined or not).
    public var count: Int { frames.count - head }

    /// Appends `frame` unless that would pass a bound; returns false at the bound.
    public mutating func push(_ frame: Frame) -> Bool {
        guard messageCount + frame.messageCount <= maxMessages, byteCount + frame.count <= maxBytes else {
            return false
        }
        frames.append(frame)
        byteCount += frame.count
        messageCount += frame.messageCount
        return true
    }

    /// The frame `offset` places from the head.
    public subscript(offset: Int) -> Frame { frames[head + offset] }

    /// How many frames at the head add up to at most `limit` bytes (at least one unless empty). A count, not
    /// a slice: a slice would share the storage, and the `removeFirst` after the write would copy it.
    public func batchCount(fittingIn limit: Int) -> Int {
        var end = head
        var total = 0
        while end < frames.count, end == head || total + frames[end].count <= limit {
            total += frames[end].count
            end += 1
        }
        return end - head
    }

    public mutating func removeFirst(_ n: Int) {
        for index in head..<head + n {
            byteCount -= frames[index].count
            messageCount -= frames[index].messageCount
        }
        head += n
        if head == frames.count {
            frames.removeAll(keepingCapacity: frames.capacity <= Self.retainedCapacity)
            head = 0
        } else if head >= 1024, head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
    }

    public mutating func removeAll() {
        frames.removeAll()
        head = 0
        byteCount = 0
        messageCount = 0
    }
}
