/// What a session may do in a channel: Centrifugo's namespace permissions, user-limited and private
/// channels, subscription tokens. `client.insecure` allows everything; an admin connection may subscribe
/// anywhere.
extension ClientSession {
    func checkSubscribeAllowed(_ name: ChannelName, _ options: NamespaceOptions,
                               grant: SubscriptionToken?) throws(ProtocolError) {
        guard settings.insecure || isAdmin
            || SubscribeRule.admits(user: user, to: name, options, hasSubscriptionToken: grant != nil)
        else { throw .permissionDenied }
    }

    func checkHistoryAllowed(_ channel: String) throws(ProtocolError) {
        let (_, options) = try node.resolve(channel: channel)
        guard options.hasHistory else { throw .notAvailable }
        try checkPermitted(channel, forClient: options.allowHistoryForClient,
                           forSubscriber: options.allowHistoryForSubscriber, forAnonymous: options.allowHistoryForAnonymous)
    }

    func checkPresenceAllowed(_ channel: String) throws(ProtocolError) {
        let (_, options) = try node.resolve(channel: channel)
        guard options.presence else { throw .notAvailable }
        try checkPermitted(channel, forClient: options.allowPresenceForClient,
                           forSubscriber: options.allowPresenceForSubscriber, forAnonymous: options.allowPresenceForAnonymous)
    }

    /// A namespace's `allow_X_for_client` / `allow_X_for_subscriber` / `allow_X_for_anonymous` triple.
    func checkPermitted(_ channel: String, forClient: Bool, forSubscriber: Bool,
                        forAnonymous: Bool) throws(ProtocolError) {
        guard settings.insecure || allowed(forClient, forAnonymous)
            || (subscriptions[channel] != nil && allowed(forSubscriber, forAnonymous))
        else { throw .permissionDenied }
    }

    func allowed(_ forClient: Bool, _ forAnonymous: Bool) -> Bool {
        SubscribeRule.allowed(user: user, forClient, forAnonymous)
    }
}

/// Who may subscribe to a channel, for WebSocket clients and data streams (SSE, raw WebSocket) alike.
enum SubscribeRule {
    /// A user-limited channel admits its users only, and a private one subscription-token holders only,
    /// whatever else the namespace allows; otherwise a subscription token or `allow_subscribe_for_*` admits.
    static func admits(user: String, to name: ChannelName, _ options: NamespaceOptions,
                       hasSubscriptionToken: Bool) -> Bool {
        let userLimited = options.allowUserLimitedChannels && name.isUserLimited
        if userLimited && (user.isEmpty || !name.allowedUsers.contains(Substring(user))) { return false }
        if name.isPrivate && !hasSubscriptionToken { return false }
        return hasSubscriptionToken || userLimited
            || allowed(user: user, options.allowSubscribeForClient, options.allowSubscribeForAnonymous)
    }

    /// Centrifugo's rule: a `for_client` permission covers anonymous connections only with `for_anonymous`.
    static func allowed(user: String, _ forClient: Bool, _ forAnonymous: Bool) -> Bool {
        forClient && (!user.isEmpty || forAnonymous)
    }
}
