import LuffyCore
import MariaDB

/// Reads the courses on sale with their current activity prices.
enum CourseCatalog {
    /// The courses of `ids` as this user may buy them now, in the order of `ids`: every id must be
    /// a visible, undeleted course on sale (`course_not_found` lists the others) that the user
    /// does not own yet (`course_already_purchased` lists those).
    static func purchasable(_ ids: [Int64], userID: Int64, db: Database) throws -> [CourseOffer] {
        let courseRows = try db.query(
            """
            SELECT c.id, c.name, c.course_cover, c.price, c.credit, c.direction_id, c.category_id,
                   EXISTS (SELECT 1 FROM ly_user_course uc WHERE uc.user_id = \(userID) AND uc.course_id = c.id AND uc.is_deleted = 0)
            FROM ly_course c
            WHERE c.id IN \(ids: ids) AND c.is_deleted = 0 AND c.is_show = 1 AND c.price IS NOT NULL
            """, decoding: (Int64, String, String?, Fen, Int64?, Int64?, Int64?, Bool).self)
        let found = Set(courseRows.map(\.0))
        if found.count != ids.count { throw OrderError.courseNotFound(courseIDs: ids.filter { !found.contains($0) }) }
        let owned = Set(courseRows.filter(\.7).map(\.0))
        if !owned.isEmpty { throw OrderError.courseAlreadyPurchased(courseIDs: ids.filter(owned.contains)) }

        // No ORDER BY in these statements: on the shop's small tables MariaDB answers it with a
        // temporary table and a filesort that cost more than the query; Swift sorts instead.
        let ruleRows = try db.query(
            """
            SELECT ap.id, ap.course_id, d.`condition`, d.sale, dt.name
            FROM ly_course_activity_price ap
            JOIN ly_activity a ON a.id = ap.activity_id
            JOIN ly_discount d ON d.id = ap.discount_id
            JOIN ly_discount_type dt ON dt.id = d.discount_type_id
            WHERE ap.course_id IN \(ids: ids) AND ap.is_deleted = 0 AND a.is_deleted = 0 AND d.is_deleted = 0
              AND a.start_time <= NOW() AND a.end_time > NOW()
            """, decoding: (Int64, Int64, Int64, String, String).self)
        var rules: [Int64: [(id: Int64, rule: ActivityRule)]] = [:]
        for (ruleID, courseID, condition, sale, typeName) in ruleRows {
            rules[courseID, default: []].append((ruleID, ActivityRule(condition: condition, sale: sale, typeName: typeName)))
        }
        var byID: [Int64: CourseOffer] = [:]
        for (id, name, cover, listPrice, credit, directionID, categoryID, _) in courseRows {
            let latestFirst = (rules[id] ?? []).sorted { $0.id > $1.id }.map(\.rule)
            byID[id] = CourseOffer(
                id: id, name: name, cover: cover, listPrice: listPrice,
                credit: credit ?? 0, directionID: directionID,
                categoryID: categoryID,
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
