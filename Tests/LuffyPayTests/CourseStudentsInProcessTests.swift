import Foundation
import LuffyCore
import MariaDB
import Testing

@testable import LuffyPay

/// `CourseStudents` against the test stack's MariaDB, a single server (like InProcessTests:
/// scripts/test.sh runs them once the stack is up, `swift test --filter InProcess`). What a cluster's
/// settlements leave in `ly_course_students_delta` is written here by hand.
@Suite(.serialized) struct CourseStudentsInProcessTests {
    struct StackMissing: Error, CustomStringConvertible {
        let description: String
    }

    static let library: Void = DatabaseConfig.initializeLibrary()

    let db: Database

    init() throws {
        guard let config = ProcessInfo.processInfo.environment["LUFFY_CONFIG"], !config.isEmpty else {
            throw StackMissing(
                description: "LUFFY_CONFIG is not set: these tests need the test stack's MariaDB (see InProcessTests)")
        }
        Self.library
        db = Database(config: DatabaseConfig(settings: try Settings.load()))
    }

    /// A course no catalogue uses, with `students`; deleted with its delta rows after `body`.
    func withCourse(students: Int64, _ body: (Int64) throws -> Void) throws {
        let id = Int64(
            try db.execute(
                """
                INSERT INTO ly_course (name, is_deleted, orders, is_show, created_time, updated_time, course_cover, course_video,
                                       course_type, level, description, pub_date, period, attachment_path, attachment_link,
                                       status, students, lessons, pub_lessons, price, credit, recomment_home_hot,
                                       recomment_home_top, category_id, direction_id, teacher_id)
                VALUES ('course students test', 0, 99, 1, NOW(6), NOW(6), 'course/cover/it.png', NULL, 0, 0, 'test', CURDATE(), 1,
                        NULL, NULL, 0, \(students), 1, 1, 10.00, 0, 0, 0, 1, 1, 1)
                """
            ).insertID)
        defer {
            _ = try? db.execute("DELETE FROM ly_course_students_delta WHERE course_id = \(id)")
            _ = try? db.execute("DELETE FROM ly_course WHERE id = \(id)")
        }
        try body(id)
    }

    func students(_ id: Int64) throws -> Int64? {
        try db.query("SELECT students FROM ly_course WHERE id = \(id)", decoding: Int64.self).first
    }

    func deltas(_ id: Int64) throws -> [Int64] {
        try db.query("SELECT students FROM ly_course_students_delta WHERE course_id = \(id) ORDER BY slot", decoding: Int64.self)
    }

    @Test func aSingleServerCountsOnTheCourseRow() throws {
        try withCourse(students: 7) { id in
            try db.transaction {
                let before = db.statementCount
                try CourseStudents.countGrants([id], db: db)
                // One round trip of the settlement's: the connection knows it is on no Galera node.
                #expect(db.statementCount - before == 1)
            }
            #expect(try students(id) == 8)
            #expect(try deltas(id).isEmpty)
        }
    }

    @Test func theFoldMovesEveryNodesCountIntoTheCourseOnce() throws {
        try withCourse(students: 7) { id in
            try db.execute("INSERT INTO ly_course_students_delta (course_id, slot, students) VALUES (\(id), 1, 3), (\(id), 2, 2)")
            #expect(try CourseStudents.fold(db: db) >= 1)
            #expect(try students(id) == 12)
            #expect(try deltas(id) == [0, 0])
            // Nothing left: a second fold adds nothing.
            _ = try CourseStudents.fold(db: db)
            #expect(try students(id) == 12)
        }
    }
}
