import MariaDB

/// The `students` a settlement adds to its courses (README, "Settlement, exactly once"). On one
/// server: `ly_course.students` itself, in the settlement's transaction. On a Galera cluster that row
/// is the one every settlement of the course writes, so two settlements of one course through two
/// nodes at once fail certification and one runs again whole: there each node adds to its own row of
/// `ly_course_students_delta` (sql/023) instead, and the sweeper folds the rows into
/// `ly_course.students` (docs/ARCHITECTURE.md, "Hot rows"). Which of the two: the connection's node
/// (`Database.onGaleraNode`, read at connect), so a settlement sends one statement for it.
enum CourseStudents {
    /// One student more for each of `courseIDs`, inside the settlement's transaction.
    static func countGrants(_ courseIDs: [Int64], db: Database) throws {
        guard try db.onGaleraNode() else {
            try db.execute("UPDATE ly_course SET students = students + 1 WHERE id IN \(ids: courseIDs)")
            return
        }
        try db.execute(
            """
            INSERT INTO ly_course_students_delta (course_id, slot, students)
            SELECT id, @@auto_increment_offset, 1 FROM ly_course WHERE id IN \(ids: courseIDs)
            ON DUPLICATE KEY UPDATE students = ly_course_students_delta.students + 1
            """)
    }

    /// Moves the students counted on a cluster into `ly_course.students`, in one transaction; returns
    /// the number of courses updated. The rows are locked and then written, so a settlement adding
    /// to one of them meanwhile waits (same node) or fails certification (another node) and runs
    /// again: none is lost or folded twice. Nothing to do on a single server.
    static func fold(db: Database) throws -> Int {
        try db.transaction {
            let pending = try db.query(
                "SELECT course_id, slot, students FROM ly_course_students_delta WHERE students <> 0 FOR UPDATE",
                decoding: (Int64, Int64, Int64).self)
            for (courseID, slot, students) in pending {
                try db.execute("UPDATE ly_course SET students = students + \(students) WHERE id = \(courseID)")
                try db.execute(
                    """
                    UPDATE ly_course_students_delta SET students = students - \(students)
                    WHERE course_id = \(courseID) AND slot = \(slot)
                    """)
            }
            return Set(pending.map(\.0)).count
        }
    }
}
