import LuffyCore
import MariaDB
/// Reads the courses on sale with their current activity prices.
///
/// Id lists travel as one JSON array parameter expanded by JSON_TABLE, so each statement is
/// prepared once whatever the number of ids.
enum CourseCatalog {
    static func jsonIDs(_ ids: [Int64]) -> SQLValue {
        .text("[" + ids.map(String.init).joined(separator: ",") + "]")
    }

    /// The courses of `ids` as this user may buy them now, in the order of `ids`: every id must be
    /// a visible, undeleted course on sale (`course_not_found` lists the others) that the user
    /// does not own yet (`course_already_purchased` lists those).
    static func purchasable(_ ids: [Int64], userID: Int64, db: Database) throws -> [CourseOffer] {
        let list = jsonIDs(ids)
        let courseRows = try db.query("""
            SELECT c.id, c.name, c.course_cover, c.price, c.credit, c.direction_id, c.category_id,
                   EXISTS (SELECT 1 FROM ly_user_course uc WHERE uc.user_id = ? AND uc.course_id = c.id AND uc.is_deleted = 0)
            FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS ids
            JOIN ly_course c ON c.id = ids.id
            WHERE c.is_deleted = 0 AND c.is_show = 1 AND c.price IS NOT NULL
            """, [.int(userID), list])
        let found = Set(try courseRows.map { try $0.int(0) })
        if found.count != ids.count { throw OrderError.courseNotFound(courseIDs: ids.filter { !found.contains($0) }) }
        let owned = Set(try courseRows.filter { try $0.bool(7) }.map { try $0.int(0) })
        if !owned.isEmpty { throw OrderError.courseAlreadyPurchased(courseIDs: ids.filter(owned.contains)) }

        // No ORDER BY in these statements: on the shop's small tables MariaDB answers it with a
        // temporary table and a filesort that cost more than the query; Swift sorts instead.
        let ruleRows = try db.query("""
            SELECT ap.id, ap.course_id, d.`condition`, d.sale, dt.name
            FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) AS ids
            JOIN ly_course_activity_price ap ON ap.course_id = ids.id
            JOIN ly_activity a ON a.id = ap.activity_id
            JOIN ly_discount d ON d.id = ap.discount_id
            JOIN ly_discount_type dt ON dt.id = d.discount_type_id
            WHERE ap.is_deleted = 0 AND a.is_deleted = 0 AND d.is_deleted = 0
              AND a.start_time <= NOW() AND a.end_time > NOW()
            """, [list])
        var rules: [Int64: [(id: Int64, rule: ActivityRule)]] = [:]
        for row in ruleRows {
            rules[try row.int(1), default: []].append(
                (try row.int(0), ActivityRule(condition: try row.int(2), sale: try row.string(3), typeName: try row.string(4))))
        }
        var byID: [Int64: CourseOffer] = [:]
        for row in courseRows {
            let id = try row.int(0)
            let listPrice = try row.fen(3)
            let latestFirst = (rules[id] ?? []).sorted { $0.id > $1.id }.map(\.rule)
            byID[id] = CourseOffer(id: id, name: try row.string(1), cover: row.optionalString(2), listPrice: listPrice,
                                   credit: try row.optionalInt(4) ?? 0, directionID: try row.optionalInt(5),
                                   categoryID: try row.optionalInt(6),
                                   activity: Pricing.activityPrice(listPrice: listPrice, rules: latestFirst))
        }
        return ids.compactMap { byID[$0] }
    }

    /// `course_ids` from a query string: `1,2,3`.
    static func parseIDList(_ raw: String?) throws -> [Int64] {
        guard let raw, !raw.isEmpty else { throw OrderError.coursesRequired }
        var ids: [Int64] = []
        for part in raw.split(ascii: ",", omittingEmptySubsequences: false) {
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
