/// Conversions of `Duration`, the type of every timeout and interval in the code, to what system
/// calls and libraries take. Settings keep whole seconds in the environment (README,
/// "Configuration") and become a `Duration` where they are read into options.
extension Duration {
    /// Whole nanoseconds (durations here are seconds to hours: no overflow).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Seconds as a `Double` (Foundation's `TimeInterval`).
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Milliseconds as a `Double`, for log fields such as `duration_ms`.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// Milliseconds rounded up and capped at `Int32.max`, for `poll(2)`: a wait never ends a
    /// millisecond early and spins. Negative durations are 0.
    public var pollMilliseconds: Int32 {
        let nanos = nanoseconds
        guard nanos > 0 else { return 0 }
        return Int32(min((nanos + 999_999) / 1_000_000, Int64(Int32.max)))
    }

    /// Whole seconds, rounded up, for APIs that take seconds (MariaDB's timeouts).
    public var wholeSecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}
