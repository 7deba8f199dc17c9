import LuffyCore

/// `LUFFY_RECONCILE_AT`: the time of day (shop time) from which `serve` reconciles yesterday, or
/// `off`.
public struct ReconcileAt: Sendable, Equatable {
    /// Minutes after midnight; nil: off.
    public let minutes: Int?

    public static let off = ReconcileAt(minutes: nil)

    public init(minutes: Int?) { self.minutes = minutes }

    /// `HH:MM` (00:00–23:59) or `off`.
    public init?(parsing text: String) {
        if text == "off" {
            self.init(minutes: nil)
            return
        }
        let b = Array(text.utf8)
        guard b.count == 5, b[2] == UInt8(ascii: ":"),
            b.enumerated().allSatisfy({ $0.offset == 2 || (0x30...0x39).contains($0.element) })
        else { return nil }
        let hour = Int(b[0] - 0x30) * 10 + Int(b[1] - 0x30)
        let minute = Int(b[3] - 0x30) * 10 + Int(b[4] - 0x30)
        guard hour < 24, minute < 60 else { return nil }
        self.init(minutes: hour * 60 + minute)
    }

    /// Whether the shop-time moment `time` (`yyyy-MM-dd HH:mm:ss`) is at or past it today.
    public func isDue(at time: String) -> Bool {
        guard let minutes else { return false }
        let b = Array(time.utf8)
        guard b.count >= 16 else { return false }
        let hour = Int(b[11] &- 0x30) * 10 + Int(b[12] &- 0x30)
        let minute = Int(b[14] &- 0x30) * 10 + Int(b[15] &- 0x30)
        return hour * 60 + minute >= minutes
    }
}
