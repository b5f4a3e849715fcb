/// One event loop's subscribers by channel. Confined to its loop's thread: no locks.
///
/// Subscribers sit in a dense array per channel so fan-out walks contiguous memory; each subscriber
/// remembers its slot so unsubscribe is O(1) (swap with the last, update the moved one's slot). Sessions that
/// negotiated delta compression and data-stream subscribers (SSE, raw WebSocket) are kept apart, in lists of
/// their own, so the common fan-out loop never asks which kind a subscriber is.
struct ChannelIndex {
    private(set) var channels: [String: ContiguousArray<ClientSession>] = [:]
    private(set) var deltaChannels: [String: ContiguousArray<ClientSession>] = [:]
    private(set) var dataChannels: [String: ContiguousArray<DataSubscriber>] = [:]

    /// Adds `session` and returns its slot in its list (the delta list when `delta`).
    mutating func add(_ session: ClientSession, to channel: String, delta: Bool = false) -> Int {
        delta ? Self.add(session, channel, &deltaChannels) : Self.add(session, channel, &channels)
    }

    mutating func add(_ subscriber: DataSubscriber, to channel: String) -> Int {
        Self.add(subscriber, channel, &dataChannels)
    }

    mutating func remove(slot: Int, from channel: String, delta: Bool = false) {
        if delta {
            Self.remove(slot, channel, &deltaChannels)
        } else {
            Self.remove(slot, channel, &channels)
        }
    }

    mutating func remove(dataSubscriberAt slot: Int, from channel: String) {
        Self.remove(slot, channel, &dataChannels)
    }

    func subscribers(of channel: String) -> ContiguousArray<ClientSession>? {
        channels[channel]
    }

    func deltaSubscribers(of channel: String) -> ContiguousArray<ClientSession>? {
        deltaChannels[channel]
    }

    func dataSubscribers(of channel: String) -> ContiguousArray<DataSubscriber>? {
        dataChannels[channel]
    }

    private static func add<Subscriber>(_ subscriber: Subscriber, _ channel: String,
                                        _ map: inout [String: ContiguousArray<Subscriber>]) -> Int {
        var subscribers = map.removeValue(forKey: channel) ?? []
        subscribers.append(subscriber)
        let slot = subscribers.count - 1
        map[channel] = subscribers
        return slot
    }

    private static func remove<Subscriber: IndexedSubscriber>(_ slot: Int, _ channel: String,
                                                              _ map: inout [String: ContiguousArray<Subscriber>]) {
        guard var subscribers = map.removeValue(forKey: channel) else { return }
        let last = subscribers.count - 1
        if slot != last {
            let moved = subscribers[last]
            subscribers[slot] = moved
            moved.moved(to: slot, in: channel)
        }
        subscribers.removeLast()
        if !subscribers.isEmpty { map[channel] = subscribers }
    }
}

/// What the index tells a subscriber whose slot changed.
protocol IndexedSubscriber: AnyObject {
    func moved(to slot: Int, in channel: String)
}

extension ClientSession: IndexedSubscriber {
    func moved(to slot: Int, in channel: String) {
        subscriptions[channel]?.slot = slot
    }
}

extension DataSubscriber: IndexedSubscriber {}
