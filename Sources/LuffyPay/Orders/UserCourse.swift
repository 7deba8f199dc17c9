import MariaDB

/// A purchase of a course (`ly_user_course`, one row per user and course; README, "Validity
/// periods").
enum UserCourse {
    /// The row `uc` gives its user the course now: live (a refund deletes it) and its access not
    /// run out (`out_time` NULL is for ever). Anything else can be bought (again).
    static let accessRunning: SQLQuery = "uc.is_deleted = 0 AND (uc.out_time IS NULL OR uc.out_time > NOW(6))"
}
