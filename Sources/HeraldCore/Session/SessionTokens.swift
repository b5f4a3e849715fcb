/// Connection and subscription tokens in a session: checking them at connect and subscribe, refreshing
/// them (`refresh`, `sub_refresh`), and ending what they no longer cover.
///
/// As in Centrifugo: an expired token is answered with error 109, so the SDK fetches a new one; any other
/// bad token (signature, algorithm, key, claims, another user's or channel's) closes the connection with
/// 3500, which the SDK does not retry. Every refusal is counted by reason, never logged with the token.
extension ClientSession {
    /// The connection token's claims; nil when no key is configured and `client.insecure` lets the token be
    /// ignored (the connection is then anonymous).
    func connectionToken(_ token: String) throws(Disconnect) -> Result<ConnectionToken?, ProtocolError> {
        guard let verifier = settings.tokens.connection else {
            if settings.insecure { return .success(nil) }
            throw refuse(.unknownKey)
        }
        switch verifier.verify(token, now: wallSeconds()) {
        case .failure(.expired):
            node.refusals.count(TokenRefusal.expired.rawValue)
            return .failure(.tokenExpired)
        case .failure(let refusal):
            throw refuse(refusal)
        case .success(let verified):
            do throws(TokenRefusal) {
                let claims = try ConnectionToken(verified)
                if let expiresAt = claims.expiresAt, expiresAt <= wallSeconds() {
                    node.refusals.count(TokenRefusal.expired.rawValue)
                    return .failure(.tokenExpired)
                }
                return .success(claims)
            } catch {
                throw refuse(error)
            }
        }
    }

    /// A subscription token's claims, checked against the channel and this connection's user; nil when it
    /// may be ignored (no key, `client.insecure`).
    func subscriptionToken(_ token: String, channel: String) throws(Disconnect)
        -> Result<SubscriptionToken?, ProtocolError> {
        guard let verifier = settings.tokens.subscription else {
            if settings.insecure { return .success(nil) }
            throw refuse(.unknownKey)
        }
        switch verifier.verify(token, now: wallSeconds()) {
        case .failure(.expired):
            node.refusals.count(TokenRefusal.expired.rawValue)
            return .failure(.tokenExpired)
        case .failure(let refusal):
            throw refuse(refusal)
        case .success(let verified):
            do throws(TokenRefusal) {
                let claims = try SubscriptionToken(verified)
                guard claims.channel == channel, claims.user == user else { throw .badClaims }
                if let expiresAt = claims.expiresAt, expiresAt <= wallSeconds() {
                    node.refusals.count(TokenRefusal.expired.rawValue)
                    return .failure(.tokenExpired)
                }
                return .success(claims)
            } catch {
                throw refuse(error)
            }
        }
    }

    /// `refresh`: a new token for the same user extends the connection. An expired one ends it (3005).
    func refresh(_ id: UInt32, token: String, now: Milliseconds, replies: inout JSONWriter) throws(Disconnect) {
        guard !token.isEmpty else { throw .badRequest }
        let claims: ConnectionToken
        switch try connectionToken(token) {
        case .failure: throw .expired
        case .success(nil): throw .badRequest  // tokens are ignored here: there is nothing to refresh
        case .success(let checked?): claims = checked
        }
        guard claims.user == user else { throw refuse(.badClaims) }
        expiryDeadline = deadline(claims.expiresAt, now: now, grace: settings.expiredCloseDelayMs)
        ReplyEncoder.refresh(id: id, client: clientID, version: node.version, ttl: claims.ttl, into: &replies)
    }

    /// `sub_refresh`: a new subscription token extends a subscription.
    func subRefresh(_ id: UInt32, channel: String, token: String, now: Milliseconds,
                    replies: inout JSONWriter) throws(Disconnect) {
        guard subscriptions[channel] != nil else {
            ReplyEncoder.error(id: id, .permissionDenied, into: &replies)
            return
        }
        guard !token.isEmpty else { throw .badRequest }
        switch try subscriptionToken(token, channel: channel) {
        case .failure(let error):
            ReplyEncoder.error(id: id, error, into: &replies)
        case .success(nil):
            throw .badRequest
        case .success(let claims?):
            let expiry = deadline(claims.expiresAt, now: now, grace: settings.expiredSubCloseDelayMs)
            subscriptions[channel]?.expiresAt = claims.expiresAt
            subscriptions[channel]?.expiryDeadline = expiry
            noteSubscriptionExpiry(expiry)
            ReplyEncoder.subRefresh(id: id, ttl: claims.ttl, into: &replies)
        }
    }

    /// Subscriptions whose token ran out (and its grace) are ended with unsubscribe 2501; the SDK
    /// subscribes again with a new token. Only looks through the subscriptions when one is due.
    func expireSubscriptions(now: Milliseconds) {
        guard let due = nextSubscriptionExpiry, now >= due else { return }
        nextSubscriptionExpiry = nil
        for (channel, subscription) in subscriptions {
            guard let deadline = subscription.expiryDeadline else { continue }
            guard now >= deadline else {
                noteSubscriptionExpiry(deadline)
                continue
            }
            unsubscribe(from: channel)
            var push = JSONWriter()
            ReplyEncoder.unsubscribePush(channel: channel, .expired, into: &push)
            output.send(Frame(text: push.bytes))
        }
    }

    func noteSubscriptionExpiry(_ deadline: Milliseconds?) {
        guard let deadline else { return }
        nextSubscriptionExpiry = min(nextSubscriptionExpiry ?? deadline, deadline)
    }

    /// A server-side subscription from the connection token's `channels`: the token grants it, so no
    /// permission is checked; the channel must exist. It joins live (from the stream's current position for
    /// a channel with history); its result goes into the connect reply. Nil for a channel Herald cannot
    /// serve, which is counted and skipped rather than failing the whole connection.
    func subscribeServerSide(_ channel: String, now: Milliseconds) -> ReplyEncoder.SubscribeResult? {
        guard let (_, options) = try? node.resolve(channel: channel), subscriptions[channel] == nil,
              settings.channelLimit == 0 || subscriptions.count < settings.channelLimit else {
            node.refusals.count("server_side_subscription_skipped")
            return nil
        }
        record(channel, options, pushJoinLeave: options.forcePushJoinLeave, delta: false, grant: nil, now: now)
        guard options.hasHistory else { return ReplyEncoder.SubscribeResult() }
        let position = joinLive(channel)
        return ReplyEncoder.SubscribeResult(positioned: true, position: position)
    }

    /// The monotonic time at which something expiring at Unix second `expiresAt` is ended, after `grace`.
    func deadline(_ expiresAt: Int64?, now: Milliseconds, grace: Milliseconds) -> Milliseconds? {
        guard let expiresAt else { return nil }
        let remaining = max(0, expiresAt - wallSeconds())
        return now + Milliseconds(remaining) * 1000 + grace
    }

    private func refuse(_ refusal: TokenRefusal) -> Disconnect {
        node.refusals.count(refusal.rawValue)
        return .invalidToken
    }
}

func wallSeconds() -> Int64 { WallClock.nowMilliseconds() / 1000 }

extension ConnectionToken {
    /// Seconds left, as the connect and refresh replies give them.
    var ttl: Int64? { expiresAt.map { max(1, $0 - wallSeconds()) } }
}

extension SubscriptionToken {
    var ttl: Int64? { expiresAt.map { max(1, $0 - wallSeconds()) } }
}
