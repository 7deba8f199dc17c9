/// Reads the courses on sale with their current activity prices.
///
/// Id lists travel as one JSON array parameter expanded by JSON_TABLE, so each statement is
/// prepared once whatever the number of ids.
enum CourseCatalog {
    static func jsonIDs(_ ids: [Int64]) -> SQLValue {
        .text("[" + ids.map(String.init).joined(separator: ",") + "]")
    }

    /// The visible, undeleted courses among `ids`, in the order of `ids`; missing ones are left out.
    static func offers(_ ids: [Int64], db: Database) throws -> [CourseOffer] {
        let list = jsonIDs(ids)
        let courseRows = try db.query("""
            SELECT c.id, c.name, c.course_cover, c.price, c.credit, c.direction_id, c.category_id
            FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS ids
            JOIN ly_course c ON c.id = ids.id
            WHERE c.is_deleted = 0 AND c.is_show = 1 AND c.price IS NOT NULL
            """, [list])
        let ruleRows = try db.query("""
            SELECT ap.course_id, d.`condition`, d.sale, dt.name
            FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS ids
            JOIN ly_course_activity_price ap ON ap.course_id = ids.id
            JOIN ly_activity a ON a.id = ap.activity_id
            JOIN ly_discount d ON d.id = ap.discount_id
            JOIN ly_discount_type dt ON dt.id = d.discount_type_id
            WHERE ap.is_deleted = 0 AND a.is_deleted = 0 AND d.is_deleted = 0
              AND a.start_time <= NOW() AND a.end_time > NOW()
            ORDER BY ap.id DESC
            """, [list])
        var rules: [Int64: [ActivityRule]] = [:]
        for row in ruleRows {
            rules[try row.int(0), default: []].append(
                ActivityRule(condition: try row.int(1), sale: try row.string(2), typeName: try row.string(3)))
        }
        var byID: [Int64: CourseOffer] = [:]
        for row in courseRows {
            let id = try row.int(0)
            let listPrice = try row.fen(3)
            byID[id] = CourseOffer(id: id, name: try row.string(1), cover: row.optionalString(2), listPrice: listPrice,
                                   credit: try row.optionalInt(4) ?? 0, directionID: try row.optionalInt(5),
                                   categoryID: try row.optionalInt(6),
                                   activity: Pricing.activityPrice(listPrice: listPrice, rules: rules[id] ?? []))
        }
        return ids.compactMap { byID[$0] }
    }

    /// The courses of `ids` the user already owns.
    static func owned(_ ids: [Int64], userID: Int64, db: Database) throws -> [Int64] {
        try db.query("""
            SELECT uc.course_id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS ids
            JOIN ly_user_course uc ON uc.course_id = ids.id AND uc.user_id = ?
            WHERE uc.is_deleted = 0
            """, [jsonIDs(ids), .int(userID)]).map { try $0.int(0) }
    }

    /// `course_ids` from a query string: `1,2,3`.
    static func parseIDList(_ raw: String?) throws -> [Int64] {
        guard let raw, !raw.isEmpty else { throw OrderError.coursesRequired }
        var ids: [Int64] = []
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = Int64(part.trimmingWhitespace()), id > 0 else { throw OrderError.invalidBody }
            ids.append(id)
        }
        return try validateIDs(ids)
    }

    static func validateIDs(_ ids: [Int64]) throws -> [Int64] {
        guard !ids.isEmpty else { throw OrderError.coursesRequired }
        guard ids.count <= 50 else { throw OrderError.tooManyCourses }
        guard Set(ids).count == ids.count else { throw OrderError.duplicateCourses }
        return ids
    }
}
