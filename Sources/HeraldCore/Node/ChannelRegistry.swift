import Synchronization

/// Which loops have subscribers of which channel, node-wide. Publishing consults it to post a publication
/// only to the loops that need it, and posts under its lock so concurrent publishers to one channel are seen
/// in the same order by every loop. The API's `channels` and `info` methods read it too.
final class ChannelRegistry: Sendable {
    private let subscribers: Mutex<[String: [Int]]>
    private let loopCount: Int

    init(loopCount: Int) {
        self.loopCount = loopCount
        subscribers = Mutex([:])
    }

    func added(channel: String, loop: Int) {
        subscribers.withLock { map in
            map[channel, default: Array(repeating: 0, count: loopCount)][loop] += 1
        }
    }

    func removed(channel: String, loop: Int) {
        subscribers.withLock { map in
            guard var counts = map[channel] else { return }
            counts[loop] -= 1
            if counts.allSatisfy({ $0 <= 0 }) {
                map[channel] = nil
            } else {
                map[channel] = counts
            }
        }
    }

    /// Runs `post` for each loop with subscribers of `channel`, under the registry's lock.
    func forEachSubscribedLoop(of channel: String, _ post: (Int) -> Void) {
        subscribers.withLock { map in
            guard let counts = map[channel] else { return }
            for (loop, count) in counts.enumerated() where count > 0 {
                post(loop)
            }
        }
    }

    func snapshot() -> [String: Int] {
        subscribers.withLock { map in map.mapValues { $0.reduce(0, +) } }
    }
}
