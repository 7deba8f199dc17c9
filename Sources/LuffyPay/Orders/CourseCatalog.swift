import LuffyCore
import MariaDB

/// Reads the courses on sale with their periods and current activity prices.
enum CourseCatalog {
    /// The courses of `ids` as this user may buy them now, in the order of `ids`, each for the
    /// period `periods` names (`ly_course_expire.id` by course id; absent or 0: permanent): every
    /// id must be a visible, undeleted course on sale (`course_not_found` lists the others), every
    /// period one it offers (`period_not_found`), and no course the user's access to is running
    /// (`course_already_purchased`).
    static func purchasable(_ ids: [Int64], periods: [Int64: Int64] = [:], userID: Int64, db: Database) throws -> [CourseOffer] {
        let courseRows = try db.query(
            """
            SELECT c.id, c.name, c.course_cover, c.price, c.credit, c.direction_id, c.category_id,
                   EXISTS (SELECT 1 FROM ly_user_course uc WHERE uc.user_id = \(userID) AND uc.course_id = c.id AND \(UserCourse.accessRunning))
            FROM ly_course c
            WHERE c.id IN \(ids: ids) AND c.is_deleted = 0 AND c.is_show = 1 AND c.price IS NOT NULL
            """, decoding: (Int64, String, String?, Fen, Int64?, Int64?, Int64?, Bool).self)
        let found = Set(courseRows.map(\.0))
        if found.count != ids.count { throw OrderError.courseNotFound(courseIDs: ids.filter { !found.contains($0) }) }
        let chosen = try chosenPeriods(periods.filter { $0.value != 0 }, db: db)
        let owned = Set(courseRows.filter(\.7).map(\.0))
        if !owned.isEmpty { throw OrderError.courseAlreadyPurchased(courseIDs: ids.filter(owned.contains)) }

        let rules = try activityRules(ids, db: db)
        var byID: [Int64: CourseOffer] = [:]
        for (id, name, cover, coursePrice, credit, directionID, categoryID, _) in courseRows {
            let (period, listPrice) = chosen[id] ?? (.permanent, coursePrice)
            byID[id] = CourseOffer(
                id: id, name: name, cover: cover, listPrice: listPrice,
                credit: credit ?? 0, directionID: directionID,
                categoryID: categoryID,
                activity: Pricing.activityPrice(listPrice: listPrice, rules: rules[id] ?? []),
                period: period)
        }
        return ids.compactMap { byID[$0] }
    }

    /// `GET /courses/<id>/periods`: the course on sale for each period it offers, shortest first,
    /// permanent last (as the 1.x shop listed them); nil when no visible course on sale has `id`.
    static func periods(courseID: Int64, db: Database) throws -> [CourseOffer]? {
        guard
            let (name, cover, coursePrice, credit, directionID, categoryID) = try db.query(
                """
                SELECT name, course_cover, price, credit, direction_id, category_id FROM ly_course
                WHERE id = \(courseID) AND is_deleted = 0 AND is_show = 1 AND price IS NOT NULL
                """, decoding: (String, String?, Fen, Int64?, Int64?, Int64?).self
            ).first
        else { return nil }
        let options = try db.query(
            """
            SELECT id, expire_time, expire_text, price FROM ly_course_expire
            WHERE course_id = \(courseID) AND \(offered)
            """, decoding: (Int64, Int64?, String?, Fen).self
        )
        .compactMap { row in CoursePeriod.option(id: row.0, days: row.1, text: row.2).map { ($0, row.3) } }
        .sorted { ($0.0.days, $0.0.id) < ($1.0.days, $1.0.id) }
        let rules = try activityRules([courseID], db: db)[courseID] ?? []
        return (options + [(CoursePeriod.permanent, coursePrice)]).map { period, listPrice in
            CourseOffer(
                id: courseID, name: name, cover: cover, listPrice: listPrice, credit: credit ?? 0,
                directionID: directionID, categoryID: categoryID,
                activity: Pricing.activityPrice(listPrice: listPrice, rules: rules), period: period)
        }
    }

    /// An option the shop offers: shown, not deleted, not priced below zero (the days are checked
    /// by `CoursePeriod.option`).
    private static let offered: SQLQuery = "is_deleted = 0 AND is_show = 1 AND price >= 0"

    /// The periods `periods` chooses (course id → option id), each with its price; throws
    /// `period_not_found` listing the courses whose option is not one their course offers.
    private static func chosenPeriods(_ periods: [Int64: Int64], db: Database) throws -> [Int64: (CoursePeriod, Fen)] {
        guard !periods.isEmpty else { return [:] }
        let rows = try db.query(
            """
            SELECT id, course_id, expire_time, expire_text, price FROM ly_course_expire
            WHERE id IN \(ids: Array(Set(periods.values)).sorted()) AND \(offered)
            """, decoding: (Int64, Int64, Int64?, String?, Fen).self)
        var chosen: [Int64: (CoursePeriod, Fen)] = [:]
        for (id, courseID, days, text, price) in rows where periods[courseID] == id {
            if let period = CoursePeriod.option(id: id, days: days, text: text) { chosen[courseID] = (period, price) }
        }
        let missing = periods.keys.filter { chosen[$0] == nil }.sorted()
        if !missing.isEmpty { throw OrderError.periodNotFound(courseIDs: missing) }
        return chosen
    }

    /// The running activities' rules of these courses, latest first. No ORDER BY: on the shop's
    /// small tables MariaDB answers it with a temporary table and a filesort that cost more than
    /// the query; Swift sorts instead.
    private static func activityRules(_ ids: [Int64], db: Database) throws -> [Int64: [ActivityRule]] {
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
        return rules.mapValues { $0.sorted { $0.id > $1.id }.map(\.rule) }
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

    /// `periods` from a query string: `3:12,5:0` (course id : period id), for `ids`.
    static func parsePeriodList(_ raw: String?, courseIDs ids: [Int64]) throws -> [Int64: Int64] {
        guard let raw, !raw.isEmpty else { return [:] }
        var pairs: [(courseID: Int64, periodID: Int64)] = []
        for part in raw.split(ascii: ",", omittingEmptySubsequences: false) {
            let (course, period) = part.trimmingWhitespace().cut(atFirstASCII: ":")
            guard let courseID = positiveID(course), let period, let periodID = Int64(period) else {
                throw OrderError.invalidBody
            }
            pairs.append((courseID, periodID))
        }
        return try validatePeriods(pairs, courseIDs: ids)
    }

    /// Chosen periods as `purchasable` takes them, the permanent choices (0) left out: each for a
    /// course of `ids`, once, with a period id ≥ 0.
    static func validatePeriods(_ pairs: [(courseID: Int64, periodID: Int64)], courseIDs ids: [Int64]) throws -> [Int64: Int64] {
        let courses = Set(ids)
        var periods: [Int64: Int64] = [:]
        var seen: Set<Int64> = []
        for (courseID, periodID) in pairs {
            guard courses.contains(courseID), periodID >= 0, seen.insert(courseID).inserted else { throw OrderError.invalidBody }
            if periodID != 0 { periods[courseID] = periodID }
        }
        return periods
    }

    /// A course id as a key or list item writes it: decimal digits, no sign, no leading zero.
    static func positiveID(_ text: some StringProtocol) -> Int64? {
        guard let id = Int64(text), id > 0, String(id) == text else { return nil }
        return id
    }

    static func validateIDs(_ ids: [Int64]) throws -> [Int64] {
        guard !ids.isEmpty else { throw OrderError.coursesRequired }
        guard ids.count <= 50 else { throw OrderError.tooManyCourses }
        guard Set(ids).count == ids.count else { throw OrderError.duplicateCourses }
        return ids
    }
}
