import Glibc
import Synchronization

public typealias PublishCompletion = @Sendable (Result<StreamPosition, ProtocolError>) -> Void

/// How a publish was acknowledged: at once (with the stream position when the channel has history), or
/// later, once the durable log has it.
public enum PublishAck: Sendable, Equatable {
    case done(StreamPosition?)
    case pending
}

/// The one thread that writes durable namespaces' publications: it takes everything queued since its last
/// round, gives each publication the next offset of its channel, writes the round in one transaction
/// (group commit: one fsync for all of them), and only then keeps them in memory, delivers them and
/// acknowledges them, in order. A failed write fails the whole round and changes nothing, so no offset is
/// skipped or given twice. Resets (`history_remove`) go through the same queue, so they fall between
/// rounds. Between rounds, at most once a second, it deletes from the log what memory no longer keeps.
public final class DurableWriter: @unchecked Sendable {
    enum Request {
        case publish(channel: String, data: [UInt8], info: ClientInfo?, options: NamespaceOptions,
                     completion: PublishCompletion)
        case reset(channel: String, completion: @Sendable (Result<Void, ProtocolError>) -> Void)
    }

    private let log: PublicationLog
    /// Set once by `Node.init`, before the thread starts; the node outlives the writer's thread.
    unowned(unsafe) var node: Node!
    private let queue = Mutex<[Request]>([])
    private let wake = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let stopping = Atomic<Bool>(false)
    /// Bytes the log takes on disk.
    var logByteSize: Int { log.byteSize }
    /// Whether the last write failed (disk full, I/O error): `/ready` says so until one succeeds.
    public var failing: Bool { lastWriteFailed.load(ordering: .relaxed) }
    private let lastWriteFailed = Atomic<Bool>(false)
    /// Durable channels and the offset their log rows were last trimmed below.
    private var trimmedBelow: [String: UInt64] = [:]
    private var lastTrim: Int64 = 0

    init(log: PublicationLog) {
        self.log = log
        sem_init(wake, 0, 0)
    }

    deinit {
        sem_destroy(wake)
        wake.deallocate()
    }

    /// Requests waiting for the writer at most; past it publishes are refused (error 111) rather than
    /// queued without bound while the disk is slow.
    static let maxQueued = 65_536

    func enqueue(_ request: Request) throws(ProtocolError) {
        let (accepted, wasEmpty) = queue.withLock { queue in
            guard queue.count < Self.maxQueued else { return (false, false) }
            queue.append(request)
            return (true, queue.count == 1)
        }
        guard accepted else { throw .tooManyRequests }
        if wasEmpty { sem_post(wake) }
    }

    /// Loads the streams the log kept into memory, before any client connects.
    public func restore() throws(LogError) {
        for stored in try log.storedStreams() {
            node.history.restore(stored.channel, ChannelStream(epoch: stored.epoch, top: stored.top,
                                                               publications: stored.publications))
            trimmedBelow[stored.channel] = stored.publications.first?.offset ?? stored.top + 1
        }
    }

    /// The writer's thread body; returns after `stop()` once the queue is empty.
    public func run() {
        var batch: [Request] = []
        while true {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_sec += 1
            _ = sem_timedwait(wake, &deadline)
            queue.withLock { swap(&$0, &batch) }
            if batch.isEmpty && stopping.load(ordering: .acquiring) { return }
            process(batch)
            batch.removeAll(keepingCapacity: true)
            trimIfDue()
        }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        sem_post(wake)
    }

    /// Publications between resets are written as one round each.
    private func process(_ batch: [Request]) {
        var round: [(channel: String, data: [UInt8], info: ClientInfo?, options: NamespaceOptions,
                     completion: PublishCompletion)] = []
        for request in batch {
            switch request {
            case .publish(let channel, let data, let info, let options, let completion):
                round.append((channel, data, info, options, completion))
            case .reset(let channel, let completion):
                commit(round)
                round.removeAll()
                completion(reset(channel))
            }
        }
        commit(round)
    }

    private func commit(_ round: [(channel: String, data: [UInt8], info: ClientInfo?, options: NamespaceOptions,
                                   completion: PublishCompletion)]) {
        guard !round.isEmpty else { return }
        let now = WallClock.nowMilliseconds()
        // Offsets continue from each stream's top; only this thread moves durable streams' tops.
        var next: [String: (entry: HistoryStore.Entry, position: StreamPosition)] = [:]
        var rows: [(channel: String, epoch: String, publication: HistoryPublication)] = []
        rows.reserveCapacity(round.count)
        var durability = Durability.os
        for item in round {
            var (entry, position) = next[item.channel] ?? {
                let entry = node.history.entry(item.channel)
                return (entry, entry.stream.withLock { $0.position })
            }()
            position.offset += 1
            next[item.channel] = (entry, position)
            rows.append((item.channel, position.epoch,
                         HistoryPublication(offset: position.offset, time: now, data: item.data, info: item.info)))
            if item.options.durable == .fsync { durability = .fsync }
        }
        let started = ContinuousClock.now
        do throws(LogError) {
            try log.append(rows, durability: durability)
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            node.metrics.durableAppend.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            node.metrics.durableAppended.increment(by: rows.count)
        } catch {
            let failure = ProtocolError(code: ProtocolError.internalError.code, message: "durable log: \(error)")
            for item in round { item.completion(.failure(failure)) }
            lastWriteFailed.store(true, ordering: .relaxed)
            return
        }
        lastWriteFailed.store(false, ordering: .relaxed)
        for (item, row) in zip(round, rows) {
            next[item.channel]!.entry.stream.withLock { stream in
                node.appendAndDeliver(item.channel, row.publication, item.options, to: &stream)
            }
            if trimmedBelow[item.channel] == nil { trimmedBelow[item.channel] = row.publication.offset }
            item.completion(.success(StreamPosition(offset: row.publication.offset, epoch: row.epoch)))
        }
    }

    private func reset(_ channel: String) -> Result<Void, ProtocolError> {
        let entry = node.history.entry(channel)
        let epoch = StreamPosition.newEpoch()
        do throws(LogError) {
            try log.reset(channel: channel, epoch: epoch)
        } catch {
            return .failure(ProtocolError(code: ProtocolError.internalError.code, message: "durable log: \(error)"))
        }
        entry.stream.withLock { $0.reset(epoch: epoch) }
        trimmedBelow[channel] = 1
        return .success(())
    }

    /// Deletes log rows that memory has let go of (by count, bytes or age), at most once a second.
    private func trimIfDue() {
        let now = WallClock.nowMilliseconds()
        guard now - lastTrim >= 1000 else { return }
        lastTrim = now
        for (channel, firstKept) in node.history.retainedFrom(channels: Array(trimmedBelow.keys))
        where firstKept > trimmedBelow[channel, default: 0] {
            // A failed trim is retried next time; publishing does not depend on it.
            if (try? log.trim(channel: channel, before: firstKept)) != nil { trimmedBelow[channel] = firstKept }
        }
    }
}
