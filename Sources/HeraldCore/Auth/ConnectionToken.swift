/// A connection token's Centrifugo claims, from a verified JWT.
struct ConnectionToken {
    /// `sub`: the user; "" is an anonymous connection.
    var user: String
    /// When the connection expires (Unix seconds): `expire_at` if present (0: never), else `exp`.
    var expiresAt: Int64?
    /// `info`: any JSON, shown to others in presence, join/leave and publications as `conn_info`.
    var info: [UInt8]?
    /// `channels`: server-side subscriptions made at connect.
    var channels: [String]

    init(_ verified: VerifiedClaims) throws(TokenRefusal) {
        let claims = verified.claims
        // A subscription token must not open a connection (Centrifugo refuses it the same way).
        if try claims.optionalString("channel") != nil { throw .badClaims }
        user = try claims.optionalString("sub") ?? ""
        expiresAt = try claims.expiry()
        info = verified.raw("info")
        channels = []
        if let list = claims["channels"], list != .null {
            guard let elements = list.arrayValue else { throw .badClaims }
            for element in elements {
                guard let channel = element.stringValue else { throw .badClaims }
                channels.append(channel)
            }
        }
        // `meta` is private to the server (Centrifugo hands it to proxies, which Herald has not): checked
        // for shape so a bad token is refused, and otherwise not kept.
        if let meta = claims["meta"], meta != .null, meta.objectValue == nil { throw .badClaims }
    }
}

/// A subscription token's claims: it grants `user` the channel `channel` (on connection `client`, if set).
struct SubscriptionToken {
    var user: String
    var channel: String
    var client: String?
    var expiresAt: Int64?
    /// `info`: shown to others as `chan_info`.
    var info: [UInt8]?

    init(_ verified: VerifiedClaims) throws(TokenRefusal) {
        let claims = verified.claims
        user = try claims.optionalString("sub") ?? ""
        guard let channel = try claims.optionalString("channel") else { throw .badClaims }
        self.channel = channel
        client = try claims.optionalString("client")
        expiresAt = try claims.expiry()
        info = verified.raw("info")
    }
}

extension JSONObject {
    fileprivate func optionalString(_ claim: String) throws(TokenRefusal) -> String? {
        guard let value = self[claim], value != .null else { return nil }
        guard let text = value.stringValue else { throw .badClaims }
        return text
    }

    /// `expire_at` overrides `exp` for how long the connection or subscription lives; 0 means for ever.
    fileprivate func expiry() throws(TokenRefusal) -> Int64? {
        if let value = self["expire_at"], value != .null {
            guard let seconds = value.doubleValue else { throw .badClaims }
            return seconds > 0 ? unixSeconds(seconds) : nil
        }
        guard let value = self["exp"], value != .null else { return nil }
        guard let seconds = value.doubleValue else { throw .badClaims }
        return unixSeconds(seconds)
    }
}

/// A NumericDate claim as whole seconds, clamped so that no value (1e300, -1e300) can trap.
public func unixSeconds(_ seconds: Double) -> Int64 {
    Int64(max(-1e15, min(1e15, seconds.rounded(.down))))
}
