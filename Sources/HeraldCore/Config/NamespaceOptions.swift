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
    /// `force_recovery`: recover missed publications on resubscribe; needs history.
    public var forceRecovery = false
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
