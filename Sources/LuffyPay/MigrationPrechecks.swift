public import MariaDB

extension Migrator.Precheck {
    /// What `luffy-pay migrate` checks before the files that a database of the Django shop may not take
    /// (README, "For the DBA: applying `sql/`").
    public static let luffyPay: [Migrator.Precheck] = [userCourseUnique]

    /// The Django shop could record one purchase twice (two notifications of one payment, two orders of
    /// one course): 005's unique index would then stop on the server's bare duplicate-key error.
    static let userCourseUnique = Migrator.Precheck(
        file: "005_user_course_unique.sql",
        query: """
            SELECT CONCAT('user_id=', user_id, ' course_id=', course_id, ' rows=', COUNT(*))
            FROM ly_user_course GROUP BY user_id, course_id HAVING COUNT(*) > 1 ORDER BY user_id, course_id
            """,
        problem: "ly_user_course holds more than one row for these (user_id, course_id) pairs, which it makes unique",
        remedy: """
            Keep one row per pair and set the others aside as README.md, "For the DBA: applying sql/", shows \
            (duplicate purchase rows), then run luffy-pay migrate again.
            """)
}
