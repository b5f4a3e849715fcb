/// One event loop's subscribers by channel. Confined to its loop's thread: no locks.
///
/// Subscribers sit in a dense array per channel so fan-out walks contiguous memory; each session remembers
/// its slot so unsubscribe is O(1) (swap with the last, update the moved session's slot). Subscribers that
/// negotiated delta compression are kept apart, in `deltaChannels`, so the common fan-out loop never asks
/// which kind a subscriber is.
struct ChannelIndex {
    private(set) var channels: [String: ContiguousArray<ClientSession>] = [:]
    private(set) var deltaChannels: [String: ContiguousArray<ClientSession>] = [:]

    /// Adds `session` and returns its slot in its list (the delta list when `delta`).
    mutating func add(_ session: ClientSession, to channel: String, delta: Bool = false) -> Int {
        delta ? Self.add(session, channel, &deltaChannels) : Self.add(session, channel, &channels)
    }

    mutating func remove(slot: Int, from channel: String, delta: Bool = false) {
        if delta {
            Self.remove(slot, channel, &deltaChannels)
        } else {
            Self.remove(slot, channel, &channels)
        }
    }

    func subscribers(of channel: String) -> ContiguousArray<ClientSession>? {
        channels[channel]
    }

    func deltaSubscribers(of channel: String) -> ContiguousArray<ClientSession>? {
        deltaChannels[channel]
    }

    private static func add(_ session: ClientSession, _ channel: String,
                            _ map: inout [String: ContiguousArray<ClientSession>]) -> Int {
        var subscribers = map.removeValue(forKey: channel) ?? []
        subscribers.append(session)
        let slot = subscribers.count - 1
        map[channel] = subscribers
        return slot
    }

    private static func remove(_ slot: Int, _ channel: String, _ map: inout [String: ContiguousArray<ClientSession>]) {
        guard var subscribers = map.removeValue(forKey: channel) else { return }
        let last = subscribers.count - 1
        if slot != last {
            let moved = subscribers[last]
            subscribers[slot] = moved
            moved.subscriptions[channel]?.slot = slot
        }
        subscribers.removeLast()
        if !subscribers.isEmpty { map[channel] = subscribers }
    }
}
