/// What channels of one namespace (or of no namespace) allow, with Centrifugo's option names and defaults:
/// everything off. Permissions follow Centrifugo: `..._for_client` covers authenticated connections,
/// and anonymous ones too only with `..._for_anonymous`; `..._for_subscriber` covers connections
/// subscribed to the channel.
public struct NamespaceOptions: Sendable, Equatable {
    /// `presence`: keep the list of subscribers.
    public var presence = false
    /// `join_leave`: send join/leave pushes to subscribers that ask for them.
    public var joinLeave = false
    /// `force_push_join_leave`: send join/leave pushes to every subscriber.
    public var forcePushJoinLeave = false
    /// `history_size`: publications kept per channel; 0 keeps none.
    public var historySize = 0
    /// `history_ttl`: how long publications are kept; zero keeps none. Set both or neither.
    public var historyTTL: Duration = .zero
    /// `force_recovery`: recover missed publications on resubscribe, whether or not the client asks
    /// (`recoverable`); needs history.
    public var forceRecovery = false
    /// `force_recovery_mode`: `stream` recovers every missed publication; `cache` only the latest one, and
    /// Herald gives it to every new subscriber too: configuration push.
    public var forceRecoveryMode = RecoveryMode.stream
    /// `force_positioning`: subscribers' positions are checked, so they learn when the stream was reset.
    public var forcePositioning = false
    /// `allowed_delta_types`: `["fossil"]` lets subscribers ask for Fossil deltas. Herald makes deltas from
    /// the channel's history, so without history the answer to such a request is `delta: false`.
    public var allowedDeltaTypes: [String] = []
    /// `history_max_bytes` (Herald): bytes of history kept per channel; 0 bounds by `history_size` only.
    public var historyMaxBytes = 0
    /// `durable` (Herald): "" keeps history in memory only; `fsync` also writes it to the durable log and
    /// acknowledges a publish once it survives power loss; `os` once it survives a crash of Herald.
    public var durable = Durability.none
    /// `allow_subscribe_for_client`, `allow_subscribe_for_anonymous`.
    public var allowSubscribeForClient = false
    public var allowSubscribeForAnonymous = false
    /// `allow_publish_for_client`, `allow_publish_for_subscriber`, `allow_publish_for_anonymous`.
    public var allowPublishForClient = false
    public var allowPublishForSubscriber = false
    public var allowPublishForAnonymous = false
    /// `allow_presence_for_client`, `allow_presence_for_subscriber`, `allow_presence_for_anonymous`.
    public var allowPresenceForClient = false
    public var allowPresenceForSubscriber = false
    public var allowPresenceForAnonymous = false
    /// `allow_history_for_client`, `allow_history_for_subscriber`, `allow_history_for_anonymous`.
    public var allowHistoryForClient = false
    public var allowHistoryForSubscriber = false
    public var allowHistoryForAnonymous = false
    /// `allow_user_limited_channels`: a user named after `#` in the channel (`chat#42`) may subscribe.
    public var allowUserLimitedChannels = false

    public init() {}

    /// Whether channels of this namespace have positions and history.
    public var hasHistory: Bool { historySize > 0 && historyTTL > .zero }
    public var allowsFossilDelta: Bool { allowedDeltaTypes.contains("fossil") }
}

public enum RecoveryMode: String, Sendable, Equatable, CaseIterable {
    case stream, cache
}

public enum Durability: String, Sendable, Equatable, CaseIterable {
    case none = "", fsync, os
}

/// One entry of `channel.namespaces`: its `name` and, beside it in the same object, its options.
public struct Namespace: Sendable, Equatable {
    /// Matches `^[-a-zA-Z0-9_.]{2,}$`, unique among namespaces.
    public var name: String
    public var options: NamespaceOptions

    public init(name: String, options: NamespaceOptions = NamespaceOptions()) {
        self.name = name
        self.options = options
    }
}
