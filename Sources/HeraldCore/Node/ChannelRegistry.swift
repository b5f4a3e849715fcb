import Synchronization

/// Which loops have subscribers of which channel, node-wide. Publishing consults it to post a publication
/// only to the loops that need it, and posts under its lock so concurrent publishers to one channel are seen
/// in the same order by every loop. It also knows whether a channel has data-stream subscribers (SSE, raw
/// WebSocket), for whom a publication needs its `PublicationSource`. The API's `channels` and `info`
/// methods read it too.
final class ChannelRegistry: Sendable {
    private struct Entry {
        /// Subscribers per loop.
        var loops: [Int]
        var dataSubscribers = 0
    }

    private let subscribers: Mutex<[String: Entry]>
    private let loopCount: Int

    init(loopCount: Int) {
        self.loopCount = loopCount
        subscribers = Mutex([:])
    }

    func added(channel: String, loop: Int, dataSubscriber: Bool = false) {
        subscribers.withLock { map in
            map[channel, default: Entry(loops: Array(repeating: 0, count: loopCount))].loops[loop] += 1
            if dataSubscriber { map[channel]!.dataSubscribers += 1 }
        }
    }

    func removed(channel: String, loop: Int, dataSubscriber: Bool = false) {
        subscribers.withLock { map in
            guard var entry = map[channel] else { return }
            entry.loops[loop] -= 1
            if dataSubscriber { entry.dataSubscribers -= 1 }
            if entry.loops.allSatisfy({ $0 <= 0 }) {
                map[channel] = nil
            } else {
                map[channel] = entry
            }
        }
    }

    /// Under the registry's lock, runs `post` with the loops that have subscribers of `channel` (a count per
    /// loop) and whether some of them are data-stream subscribers; not at all when it has none.
    func withSubscribers(of channel: String, _ post: (_ loops: [Int], _ hasDataSubscribers: Bool) -> Void) {
        subscribers.withLock { map in
            guard let entry = map[channel] else { return }
            post(entry.loops, entry.dataSubscribers > 0)
        }
    }

    func snapshot() -> [String: Int] {
        subscribers.withLock { map in map.mapValues { $0.loops.reduce(0, +) } }
    }
}
