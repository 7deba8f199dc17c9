-- scripts/bench/scale-data.sql — a year of a busy shop for `make bench-scale` (scripts/bench/scale.sh
-- loads it into the dev stack after sql/dev-data.sql; docs/SCALE.md). Set-based INSERT … SELECT
-- over MariaDB's sequence engine (seq_1_to_N), one statement per table, no client round trips.
--
-- Everything it writes is marked by its id range, which scale.sh's `unload` deletes again:
--   users   2,000,001 … 2,100,000        (100,000; username scale<id>, mobile 198<id>)
--   orders  100,000,001 … 101,000,000    (1,000,000; order k = id − 100,000,000 is order m = (k−1) DIV
--                                         100,000 of user u = (k−1) MOD 100,000: 10 orders a user)
--   their ly_order_course rows (by order id), ly_user_course and ly_coupon_log rows (by user id)
-- Times: order k was created NOW − 366 days + k × 31.536 s (ids grow with time, the newest a day
-- old, so none is unpaid: all expired long ago); a paid order was paid 1–10 minutes after.
-- Courses (the dev data's visible courses 1–10, list prices): order m of user u holds block
-- (m + u) MOD 4 of {1,2} {3,4,5} {6,7} {8,9,10} — 2 or 3 courses, 2.5 on average.
-- Statuses: orders m = 0…3 (one of each block) are paid when (7u + m) MOD 10 < 8, so a user never
-- pays for a course twice; the others are cancelled when (u + m) MOD 3 = 0, else timed out:
-- 32 % paid, ~23 % cancelled, ~45 % timed out. Each paid course is the user's (ly_user_course,
-- buy_type 1) and one more student of its course, as settlement does (README, "The invariant audit").
-- Coupons: 2 rows a user (200,000): coupon 1 (30元, condition 100) bound to order m = 0 and used
-- by it when it is paid (its real_price 30.00 less), else unused; one of coupons 2–5, unused.
-- No credit is spent. The orders' numbers: created day + %08d user + %08d k (k < 10^8, unlike the
-- app's sequence values for these users: these users never order through the app).

SET time_zone = '+08:00';
SET NAMES utf8mb4;
SET @now = NOW(6);
SET @start = @now - INTERVAL 366 DAY;

CREATE TEMPORARY TABLE scale_block (
  block INT NOT NULL, course_id BIGINT NOT NULL, first_course TINYINT NOT NULL, PRIMARY KEY (block, course_id)
) ENGINE=MEMORY
AS SELECT b.block, c.id AS course_id, b.first_course
   FROM (SELECT 0 AS block, 1 AS id, 1 AS first_course UNION ALL SELECT 0, 2, 0
         UNION ALL SELECT 1, 3, 1 UNION ALL SELECT 1, 4, 0 UNION ALL SELECT 1, 5, 0
         UNION ALL SELECT 2, 6, 1 UNION ALL SELECT 2, 7, 0
         UNION ALL SELECT 3, 8, 1 UNION ALL SELECT 3, 9, 0 UNION ALL SELECT 3, 10, 0) b
   JOIN ly_course c ON c.id = b.id AND c.price IS NOT NULL;

CREATE TEMPORARY TABLE scale_block_total (block INT NOT NULL PRIMARY KEY, total DECIMAL(10,2) NOT NULL) ENGINE=MEMORY
AS SELECT b.block, SUM(c.price) AS total FROM scale_block b JOIN ly_course c ON c.id = b.course_id GROUP BY b.block;

-- ---------------------------------------------------------------- users
INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff,
                      is_active, date_joined, mobile, money, credit, avatar, nickname)
SELECT 2000000 + seq, '!', NULL, 0, CONCAT('scale', 2000000 + seq), '', '', CONCAT('scale', 2000000 + seq, '@luffycity.test'), 0,
       1, @start, CONCAT('198', 2000000 + seq), 0, 0, NULL, 'scale'
FROM seq_1_to_100000;

-- ---------------------------------------------------------------- orders
-- u = (seq − 1) MOD 100000, m = (seq − 1) DIV 100000; paid: m < 4 AND (7u + m) MOD 10 < 8.
INSERT INTO ly_order (id, name, is_deleted, orders, is_show, created_time, updated_time, total_price, real_price,
                      order_number, order_status, pay_type, order_desc, pay_time, credit, user_id, trade_no)
SELECT 100000000 + s.k, '购买课程', 0, 0, 1, s.created, s.created + INTERVAL s.paid_after SECOND, t.total,
       t.total - IF(s.status = 1 AND s.m = 0, 30, 0),
       CONCAT(DATE_FORMAT(s.created, '%Y%m%d'), LPAD(2000001 + s.u, 8, '0'), LPAD(s.k, 8, '0')),
       s.status, 0, NULL, IF(s.status = 1, s.created + INTERVAL s.paid_after SECOND, NULL), 0, 2000001 + s.u,
       IF(s.status = 1, CONCAT('2099', LPAD(s.k, 24, '0')), NULL)
FROM (SELECT seq AS k, (seq - 1) MOD 100000 AS u, (seq - 1) DIV 100000 AS m,
             @start + INTERVAL seq * 31536000 MICROSECOND AS created,
             60 + seq MOD 540 AS paid_after,
             CASE WHEN (seq - 1) DIV 100000 < 4 AND (7 * ((seq - 1) MOD 100000) + (seq - 1) DIV 100000) MOD 10 < 8 THEN 1
                  WHEN ((seq - 1) MOD 100000 + (seq - 1) DIV 100000) MOD 3 = 0 THEN 2
                  ELSE 3 END AS status
      FROM seq_1_to_1000000) s
JOIN scale_block_total t ON t.block = (s.m + s.u) MOD 4;

-- ---------------------------------------------------------------- order courses (2–3 an order)
INSERT INTO ly_order_course (name, is_deleted, orders, is_show, created_time, updated_time, price, real_price,
                             discount_name, course_id, order_id)
SELECT c.name, 0, 0, 1, o.created_time, o.created_time, c.price, c.price, '', c.id, o.id
FROM ly_order o
JOIN scale_block b ON b.block = ((o.id - 100000001) DIV 100000 + (o.id - 100000001) MOD 100000) MOD 4
JOIN ly_course c ON c.id = b.course_id
WHERE o.id BETWEEN 100000001 AND 101000000
ORDER BY o.id, c.id;

-- ---------------------------------------------------------------- the paid courses, and their students
INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time, chapter_id,
                            course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time)
SELECT oc.name, 0, 0, 1, o.pay_time, o.pay_time, 0, NULL, oc.course_id, NULL, o.user_id, o.trade_no, 1, o.pay_time, NULL
FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
WHERE o.id BETWEEN 100000001 AND 101000000 AND o.order_status = 1
ORDER BY o.id, oc.course_id;

UPDATE ly_course c
JOIN (SELECT course_id, COUNT(*) AS n FROM ly_user_course WHERE user_id BETWEEN 2000001 AND 2100000 GROUP BY course_id) g
  ON g.course_id = c.id
SET c.students = c.students + g.n;

-- ---------------------------------------------------------------- coupons (2 a user)
INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, use_status,
                           coupon_id, order_id, user_id)
SELECT 0, 1, 1, @start, COALESCE(o.pay_time, @start), cp.name, o.pay_time, IF(o.order_status = 1, 1, 0), cp.id,
       IF(o.order_status = 1, o.id, NULL), 2000000 + s.seq
FROM seq_1_to_100000 s
JOIN ly_coupon cp ON cp.id = 1
JOIN ly_order o ON o.id = 100000000 + s.seq
ORDER BY s.seq;

INSERT INTO ly_coupon_log (is_deleted, orders, is_show, created_time, updated_time, name, use_time, use_status,
                           coupon_id, order_id, user_id)
SELECT 0, 1, 1, @start, @start, cp.name, NULL, 0, cp.id, NULL, 2000000 + s.seq
FROM seq_1_to_100000 s
JOIN ly_coupon cp ON cp.id = 2 + (s.seq - 1) MOD 4
ORDER BY s.seq;

-- ---------------------------------------------------------------- fresh statistics
-- InnoDB recalculates a table's statistics in the background after 10 % of it changed; until then
-- the optimizer plans with the empty tables' figures (docs/SCALE.md: the coupon wallet then walked
-- all 200,000 coupon rows of ly_coupon_log_coupon_id per request). A year-old database has current
-- statistics: so does this one.
ANALYZE TABLE ly_users, ly_order, ly_order_course, ly_user_course, ly_coupon_log;
