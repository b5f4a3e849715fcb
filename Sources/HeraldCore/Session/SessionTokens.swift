/// Connection and subscription tokens in a session: checking them at connect and subscribe, refreshing
/// them (`refresh`, `sub_refresh`), and ending what they no longer cover.
///
/// As in Centrifugo: an expired (or not yet valid) token is answered with error 109, so the SDK fetches a new
/// one. Any other bad connection token (signature, algorithm, key, claims) closes the connection with 3500,
/// which the SDK does not retry; a subscription token that does not verify is answered with 103, and one
/// made for another channel, user or client closes the connection with 3500. Every refusal is counted by
/// reason, never logged with the token.
extension ClientSession {
    /// The connection token's claims; nil when no key is configured and `client.insecure` lets the token be
    /// ignored (the connection is then anonymous).
    func connectionToken(_ token: String) throws(Disconnect) -> Result<ConnectionToken?, ProtocolError> {
        guard let verifier = settings.tokens.connection else {
            if settings.insecure { return .success(nil) }
            throw refuse(.unknownKey)
        }
        switch verifier.verify(token, now: wallSeconds()) {
        case .failure(let refusal) where refusal.isTimely:
            node.refusals.count(refusal.rawValue)
            return .failure(.tokenExpired)
        case .failure(let refusal):
            throw refuse(refusal)
        case .success(let verified):
            do throws(TokenRefusal) {
                let claims = try ConnectionToken(verified)
                if let expiresAt = claims.expiresAt, expiresAt <= wallSeconds() { throw .expired }
                return .success(claims)
            } catch .expired {
                node.refusals.count(TokenRefusal.expired.rawValue)
                return .failure(.tokenExpired)
            } catch {
                throw refuse(error)
            }
        }
    }

    /// A subscription token's claims, checked against the channel and this connection; nil when it may be
    /// ignored (no key, `client.insecure`).
    func subscriptionToken(_ token: String, channel: String) throws(Disconnect)
        -> Result<SubscriptionToken?, ProtocolError> {
        guard let verifier = settings.tokens.subscription else {
            if settings.insecure { return .success(nil) }
            node.refusals.count(TokenRefusal.unknownKey.rawValue)
            return .failure(.permissionDenied)
        }
        let claims: SubscriptionToken
        switch verifier.verify(token, now: wallSeconds()) {
        case .failure(let refusal):
            node.refusals.count(refusal.rawValue)
            return .failure(refusal.isTimely ? .tokenExpired : .permissionDenied)
        case .success(let verified):
            do throws(TokenRefusal) {
                claims = try SubscriptionToken(verified)
            } catch {
                node.refusals.count(error.rawValue)
                return .failure(.permissionDenied)
            }
        }
        // A valid token given to the wrong connection or channel: someone is replaying tokens.
        guard claims.channel == channel, claims.user == user, claims.client.map({ $0 == clientID }) ?? true else {
            throw refuse(.badClaims)
        }
        if let expiresAt = claims.expiresAt, expiresAt <= wallSeconds() {
            node.refusals.count(TokenRefusal.expired.rawValue)
            return .failure(.tokenExpired)
        }
        return .success(claims)
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
        ReplyEncoder.refresh(id: id, client: clientID, version: node.version, ttl: secondsLeft(until: claims.expiresAt),
                             into: &replies)
    }

    /// `sub_refresh`: a new subscription token extends a subscription.
    func subRefresh(_ id: UInt32, channel: String, token: String, now: Milliseconds,
                    replies: inout JSONWriter) throws(Disconnect) {
        guard subscriptions[channel] != nil else {
            answerError(id, .permissionDenied, into: &replies)
            return
        }
        guard !token.isEmpty else { throw .badRequest }
        switch try subscriptionToken(token, channel: channel) {
        case .failure(let error):
            answerError(id, error, into: &replies)
        case .success(nil):
            throw .badRequest
        case .success(let claims?):
            let expiry = deadline(claims.expiresAt, now: now, grace: settings.expiredSubCloseDelayMs)
            subscriptions[channel]?.expiresAt = claims.expiresAt
            subscriptions[channel]?.expiryDeadline = expiry
            noteSubscriptionExpiry(expiry)
            ReplyEncoder.subRefresh(id: id, ttl: secondsLeft(until: claims.expiresAt), into: &replies)
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
    /// permission is checked. It joins live (from the stream's current position for a channel with history);
    /// its result goes into the connect reply. Past `client.channel_limit` the token's channels are ignored.
    func subscribeServerSide(_ channel: String, _ options: NamespaceOptions, now: Milliseconds) -> ReplyEncoder.SubscribeResult {
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

/// Seconds left until Unix second `expiresAt`, as replies give them (`ttl`, at least 1); nil for never.
func secondsLeft(until expiresAt: Int64?) -> Int64? {
    expiresAt.map { max(1, $0 - wallSeconds()) }
}
