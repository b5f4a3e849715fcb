/// One event loop's subscribers by channel. Confined to its loop's thread: no locks.
///
/// Subscribers sit in a dense array per channel so fan-out walks contiguous memory; each session remembers
/// its slot so unsubscribe is O(1) (swap with the last, update the moved session's slot).
struct ChannelIndex {
    private(set) var channels: [String: ContiguousArray<ClientSession>] = [:]

    /// Adds `session` and returns its slot.
    mutating func add(_ session: ClientSession, to channel: String) -> Int {
        var subscribers = channels.removeValue(forKey: channel) ?? []
        subscribers.append(session)
        let slot = subscribers.count - 1
        channels[channel] = subscribers
        return slot
    }

    mutating func remove(slot: Int, from channel: String) {
        guard var subscribers = channels.removeValue(forKey: channel) else { return }
        let last = subscribers.count - 1
        if slot != last {
            let moved = subscribers[last]
            subscribers[slot] = moved
            moved.subscriptions[channel]?.slot = slot
        }
        subscribers.removeLast()
        if !subscribers.isEmpty { channels[channel] = subscribers }
    }

    func subscribers(of channel: String) -> ContiguousArray<ClientSession>? {
        channels[channel]
    }
}
