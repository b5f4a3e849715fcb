import Synchronization

/// A loop's mailbox: any thread posts, the loop's own thread drains. `wake` interrupts the loop's wait; it is
/// only called when the inbox goes from empty to non-empty, so a burst of posts costs one wake-up.
public final class LoopInbox: Sendable {
    private let events = Mutex<[LoopEvent]>([])
    private let wake: @Sendable () -> Void

    public init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    public func post(_ event: LoopEvent) {
        let wasEmpty = events.withLock { events in
            events.append(event)
            return events.count == 1
        }
        if wasEmpty { wake() }
    }

    /// Takes everything posted so far, keeping the array's storage for the next round.
    public func drain(into buffer: inout [LoopEvent]) {
        events.withLock { events in
            swap(&events, &buffer)
        }
    }
}
