SET time_zone = '+08:00';
SET NAMES utf8mb4;
-- Development / test data for luffy-pay. NOT a migration: load it after `luffy-pay migrate`
-- (e.g. `mariadb luffycity < sql/dev-data.sql`). It empties every ly_ table it fills first, so
-- loading it again gives the same state. All times are relative to NOW() in shop time (+08:00).
-- Login password of the three users: luffy123 (Django pbkdf2_sha256 hashes).
--
-- Users: 1 luffy (credit 500, money 0.00, active), 2 zoro (credit 0, active), 3 usopp (INACTIVE).
--
-- Courses (price / credit cap / category / direction):
--    1 998.00 /100 c1 d1    2 1299.00 /200 c1 d1    3 399.00 /50 c2 d1
--    4 599.00 / 0  c3 d2  running activity 限时折扣 *0.8  -> 479.20
--    5 1499.00/ 0  c4 d2  running activity 限时减免 -100 (condition 1000) -> 1399.00
--    6 699.00 /60  c4 d2    7 299.00 / 0 c3 d2 (was 限时折扣 *0.8 = 239.20 in the FINISHED activity)
--    8 899.00 / 0  c5 d3    9 199.00 /20 c5 d3   10 1999.00 /150 c6 d3
--   11 499.00 hidden (is_show 0)   12 99.00 deleted (is_deleted 1)
-- Validity periods (ly_course_expire; every course also sells permanently, id 0, at its price):
--    course 1: 1 30 days 199.00, 2 90 days 499.00
--    course 4: 3 30 days  99.00 -> 79.20 (限时折扣 *0.8), 4 180 days 299.00 -> 239.20
--    course 5: 5 90 days 699.00 (under the -100 activity's condition 1000), 6 365 days 1199.00 -> 1099.00
--    course 3: 7 7 days 29.00 hidden (is_show 0), 8 14 days 49.00 deleted (is_deleted 1): not offered
-- User 1 owns courses 6, 7, 9, 10, 11, 12 (ly_user_course). Still buyable by user 1: 1, 2, 3, 4, 5, 8.
--
-- Orders (pay_type 0 everywhere; status 0 unpaid, 1 paid, 2 cancelled, 3 timed out).
-- created = NOW() minus the age shown; paid orders: pay_time = created + 1 min, trade_no set.
-- order_number = YYYYMMDD(created) + %08d user_id + %08d (90000000 + id), e.g. ...0000000190000007
--   id user status age    courses (price -> real, discount_name)          total    credit coupon           real
--    1  1   1    40 d    7 (299.00 -> 239.20 限时折扣, finished activity)   239.20     0                  239.20
--    2  1   2    35 d    1                                                 998.00     0                  998.00
--    3  1   1    30 d    9, 12                                             298.00    20 (=2.00)          296.00
--    4  1   3    25 d    3                                                 399.00     0                  399.00
--    5  1   1    20 d   10                                                1999.00   150 (=15.00)        1984.00
--    6  1   2    15 d    2, 8                                             2198.00     0                 2198.00
--    7  1   1    12 d    6                                                 699.00     0   log 13 (-99)   600.00
--    8  1   3    10 d    1, 2, 3                                          2696.00     0                 2696.00
--    9  1   1     8 d   11 (hidden since)                                  499.00     0                  499.00
--   10  1   2     6 d    2                                                1299.00     0                 1299.00
--   11  1   3     4 d    4, 5 (before the running activity: list prices)  2098.00     0                 2098.00
--   12  1   2     2 d    3, 8                                             1298.00     0                 1298.00
--   13  1   0   180 s    4 (599.00 -> 479.20 限时折扣),
--                        5 (1499.00 -> 1399.00 限时减免)                   1878.20     0                 1878.20
--   14  1   0   120 s    8                                                 899.00     0                  899.00
--   15  2   1    90 s    1                                                 998.00     0                  998.00
--   16  2   0    60 s    3                                                 399.00     0                  399.00
-- User 1 by status: paid 1,3,5,7,9 (5) | unpaid 13,14 (2) | cancelled 2,6,10,12 (4) | timed out 4,8,11 (3).
-- GET /user/order?page=2&size=5 as user 1: count 14, results ids 9, 8, 7, 6, 5.
-- Unpaid orders are only minutes old so that a running sweeper (timeout 900 s) leaves them
-- unpaid for about 12 minutes after loading; cancelled/timed-out orders carry no credit or coupon
-- (both were given back). Credit ledger of user 1: +670 signup gift, -20 (order 3), -150 (order 5) = 500.
--
-- Coupons (seeds' test set, re-dated; scope ids remapped to this file's rows):
--   1 30元通用优惠券        amount -30,   all courses,  condition 100, valid now
--   2 前端学习通用优惠券    amount -50,   direction 1 (前端开发), valid now
--   3 Typescript课程专用券  percent *0.88, courses 1 and 2, valid now
--   4 python七夕专用券      amount -99,   categories 3, 4 (seeds' 20, 21), EXPIRED yesterday
--   5 算法学习优惠券        percent *0.85, category 5 (seeds' 33), condition 200, starts tomorrow
--   ly_coupon_log of user 1: 5 (coupon 1), 8 (2), 9 (3), 10 (4), 11 (2), 12 (5): unused, no order;
--   13 (coupon 4): used by paid order 7 (use_status 1).

-- ---------------------------------------------------------------- start from empty tables
SET @now = NOW();
TRUNCATE TABLE ly_users;
TRUNCATE TABLE ly_teacher;
TRUNCATE TABLE ly_course_direction;
TRUNCATE TABLE ly_course_category;
TRUNCATE TABLE ly_course;
TRUNCATE TABLE ly_activity;
TRUNCATE TABLE ly_discount_type;
TRUNCATE TABLE ly_discount;
TRUNCATE TABLE ly_course_activity_price;
TRUNCATE TABLE ly_course_expire;
TRUNCATE TABLE ly_coupon;
TRUNCATE TABLE ly_coupon_course_direction;
TRUNCATE TABLE ly_coupon_course_category;
TRUNCATE TABLE ly_coupon_course;
TRUNCATE TABLE ly_coupon_log;
TRUNCATE TABLE ly_order;
TRUNCATE TABLE ly_order_course;
TRUNCATE TABLE ly_user_course;
TRUNCATE TABLE ly_credit;
TRUNCATE TABLE ly_idempotency_key;
TRUNCATE TABLE ly_alipay_notification;
TRUNCATE TABLE ly_payment_refund;
TRUNCATE TABLE ly_refund;
TRUNCATE TABLE ly_refund_course;
TRUNCATE TABLE ly_refund_event;

-- ---------------------------------------------------------------- users
INSERT INTO ly_users (id, password, last_login, is_superuser, username, first_name, last_name, email,
                      is_staff, is_active, date_joined, mobile, money, credit, avatar, nickname) VALUES
 (1, 'pbkdf2_sha256$600000$LfDevSaltLuffy01$MxHRJhZp2a/nj8pTMczbsyqkYosb4/sCK5Og6WAhvSc=', NULL, 0,
     'luffy', '', '', 'luffy@luffycity.test', 0, 1, @now - INTERVAL 90 DAY, '13800000001', 0.00, 500,
     'avatar/luffy.png', '路飞'),
 (2, 'pbkdf2_sha256$600000$LfDevSaltZoro002$CZVcxHkw184GOFDPvEFzM0PKp8Aw4lAKYscVAJ/meQ8=', NULL, 0,
     'zoro', '', '', 'zoro@luffycity.test', 0, 1, @now - INTERVAL 80 DAY, '13800000002', 0.00, 0,
     NULL, '索隆'),
 (3, 'pbkdf2_sha256$600000$LfDevSaltUsopp03$aLg2bk2WlBrglOXWMVmofQezfySLpZARhe6WOGV/Aj0=', NULL, 0,
     'usopp', '', '', 'usopp@luffycity.test', 0, 0, @now - INTERVAL 70 DAY, '13800000003', 0.00, 0,
     NULL, '乌索普'),
 -- the staff user of README "Refunds" (is_staff 1: /admin/refunds); no password, sign in with `make token USER=4`
 (4, '!', NULL, 0,
     'nami', '', '', 'nami@luffycity.test', 1, 1, @now - INTERVAL 60 DAY, '13800000004', 0.00, 0,
     NULL, '娜美客服');

-- ---------------------------------------------------------------- catalogue
INSERT INTO ly_teacher (id, name, is_deleted, orders, is_show, created_time, updated_time,
                        role, title, signature, avatar, brief) VALUES
 (1, '娜美', 0, 1, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY,
     1, '高级讲师', '把复杂的东西讲简单', 'teacher/1.png', '十年全栈开发经验，主讲前端与 Python 课程。');

INSERT INTO ly_course_direction (id, is_deleted, orders, is_show, created_time, updated_time,
                                 name, remark, recomment_home_hot, recomment_home_top) VALUES
 (1, 0, 1, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, '前端开发', NULL, 1, 1),
 (2, 0, 2, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, 'Python开发', NULL, 1, 0),
 (3, 0, 3, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, '算法与人工智能', NULL, 0, 0);

INSERT INTO ly_course_category (id, is_deleted, orders, is_show, created_time, updated_time,
                                name, remark, direction_id) VALUES
 (1, 0, 1, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, 'TypeScript', NULL, 1),
 (2, 0, 2, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, 'JavaScript框架', NULL, 1),
 (3, 0, 3, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, 'Python基础', NULL, 2),
 (4, 0, 4, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, 'Python Web', NULL, 2),
 (5, 0, 5, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, '数据结构与算法', NULL, 3),
 (6, 0, 6, 1, @now - INTERVAL 120 DAY, @now - INTERVAL 120 DAY, '机器学习', NULL, 3);

INSERT INTO ly_course (id, name, is_deleted, orders, is_show, created_time, updated_time,
                       course_cover, course_video, course_type, level, description, pub_date, period,
                       attachment_path, attachment_link, status, students, lessons, pub_lessons,
                       price, credit, recomment_home_hot, recomment_home_top,
                       category_id, direction_id, teacher_id) VALUES
 (1, 'TypeScript入门与实战', 0, 1, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/1.png', NULL, 0, 0, '从类型系统讲起的 TypeScript 实战课。', CURDATE(), 30,
     NULL, NULL, 0, 356, 40, 40, 998.00, 100, 1, 1, 1, 1, 1),
 (2, 'TypeScript高级编程', 0, 2, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/2.png', NULL, 0, 2, '泛型、类型体操与大型工程实践。', CURDATE(), 45,
     NULL, NULL, 0, 128, 52, 48, 1299.00, 200, 1, 0, 1, 1, 1),
 (3, 'Vue3从入门到精通', 0, 3, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/3.png', NULL, 0, 1, '组合式 API、Pinia 与 Vite 工程化。', CURDATE(), 30,
     NULL, NULL, 0, 512, 36, 36, 399.00, 50, 1, 0, 2, 1, 1),
 (4, 'Python零基础入门', 0, 4, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/4.png', NULL, 0, 0, '写给零基础同学的 Python 第一课。', CURDATE(), 21,
     NULL, NULL, 0, 1024, 30, 30, 599.00, 0, 1, 1, 3, 2, 1),
 (5, 'Django企业级开发', 0, 5, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/5.png', NULL, 0, 2, 'Django 与 DRF 构建企业后端。', CURDATE(), 60,
     NULL, NULL, 0, 288, 64, 60, 1499.00, 0, 0, 0, 4, 2, 1),
 (6, 'Flask Web开发', 0, 6, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/6.png', NULL, 0, 1, '轻量框架 Flask 的完整项目实战。', CURDATE(), 30,
     NULL, NULL, 0, 199, 28, 28, 699.00, 60, 0, 0, 4, 2, 1),
 (7, 'Python爬虫实战', 0, 7, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/7.png', NULL, 0, 1, '请求、解析、反爬与分布式采集。', CURDATE(), 20,
     NULL, NULL, 0, 740, 24, 24, 299.00, 0, 0, 0, 3, 2, 1),
 (8, '数据结构与算法精讲', 0, 8, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/8.png', NULL, 0, 2, '线性表、树、图与经典算法。', CURDATE(), 60,
     NULL, NULL, 0, 415, 48, 48, 899.00, 0, 1, 0, 5, 3, 1),
 (9, 'LeetCode刷题指南', 0, 9, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/9.png', NULL, 0, 1, '按题型归纳的高频面试题。', CURDATE(), 30,
     NULL, NULL, 0, 867, 60, 40, 199.00, 20, 0, 0, 5, 3, 1),
 (10, '机器学习实战', 0, 10, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY,
     'course/cover/10.png', NULL, 0, 2, '从线性回归到梯度提升树。', CURDATE(), 90,
     NULL, NULL, 0, 233, 72, 50, 1999.00, 150, 1, 0, 6, 3, 1),
 (11, 'jQuery经典回顾', 0, 11, 0, @now - INTERVAL 100 DAY, @now - INTERVAL 9 DAY,
     'course/cover/11.png', NULL, 0, 0, '已隐藏的旧课程。', CURDATE(), 14,
     NULL, NULL, 0, 64, 18, 18, 499.00, 0, 0, 0, 2, 1, 1),
 (12, 'Python2基础', 1, 12, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 9 DAY,
     'course/cover/12.png', NULL, 0, 0, '已下架删除的旧课程。', CURDATE(), 14,
     NULL, NULL, 0, 32, 20, 20, 99.00, 0, 0, 0, 3, 2, 1);

-- ---------------------------------------------------------------- validity periods
INSERT INTO ly_course_expire (id, name, is_deleted, orders, is_show, created_time, updated_time,
                              course_id, expire_time, expire_text, price) VALUES
 (1, 'TypeScript入门与实战 一个月', 0, 1, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 1, 30, '一个月有效', 199.00),
 (2, 'TypeScript入门与实战 三个月', 0, 2, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 1, 90, '三个月有效', 499.00),
 (3, 'Python零基础入门 一个月', 0, 1, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 4, 30, '一个月有效', 99.00),
 (4, 'Python零基础入门 半年', 0, 2, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 4, 180, '半年有效', 299.00),
 (5, 'Django企业级开发 三个月', 0, 1, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 5, 90, '三个月有效', 699.00),
 (6, 'Django企业级开发 一年', 0, 2, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 5, 365, '一年有效', 1199.00),
 (7, 'Vue3从入门到精通 一周', 0, 1, 0, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 3, 7, '一周有效', 29.00),
 (8, 'Vue3从入门到精通 两周', 1, 2, 1, @now - INTERVAL 100 DAY, @now - INTERVAL 100 DAY, 3, 14, '两周有效', 49.00);

-- ---------------------------------------------------------------- activity prices
INSERT INTO ly_activity (id, name, is_deleted, orders, is_show, created_time, updated_time,
                         start_time, end_time, description, remark) VALUES
 (1, '开学季特惠', 0, 1, 1, @now - INTERVAL 2 DAY, @now - INTERVAL 2 DAY,
     @now - INTERVAL 1 DAY, @now + INTERVAL 30 DAY, '进行中的活动', NULL),
 (2, '暑期特惠', 0, 2, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY,
     @now - INTERVAL 45 DAY, @now - INTERVAL 20 DAY, '已结束的活动', NULL);

INSERT INTO ly_discount_type (id, name, is_deleted, orders, is_show, created_time, updated_time, remark) VALUES
 (1, '限时折扣', 0, 1, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, NULL),
 (2, '限时减免', 0, 2, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, NULL),
 (3, '限时免费', 0, 3, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, NULL);

INSERT INTO ly_discount (id, name, is_deleted, orders, is_show, created_time, updated_time,
                         `condition`, sale, discount_type_id) VALUES
 (1, '八折', 0, 1, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, 0, '*0.8', 1),
 (2, '满1000减100', 0, 2, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, 1000, '-100', 2),
 (3, '免费', 0, 3, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, 0, '0', 3);

INSERT INTO ly_course_activity_price (id, name, is_deleted, orders, is_show, created_time, updated_time,
                                      activity_id, course_id, discount_id) VALUES
 (1, 'Python零基础入门 开学季八折', 0, 1, 1, @now - INTERVAL 2 DAY, @now - INTERVAL 2 DAY, 1, 4, 1),
 (2, 'Django企业级开发 开学季减100', 0, 2, 1, @now - INTERVAL 2 DAY, @now - INTERVAL 2 DAY, 1, 5, 2),
 (3, 'Python爬虫实战 暑期八折', 0, 3, 1, @now - INTERVAL 50 DAY, @now - INTERVAL 50 DAY, 2, 7, 1);

-- ---------------------------------------------------------------- coupons
INSERT INTO ly_coupon (id, name, is_deleted, orders, is_show, created_time, updated_time,
                       discount, coupon_type, total, has_total, start_time, end_time,
                       get_type, `condition`, per_limit, sale) VALUES
 (1, '30元通用优惠券', 0, 1, 1, @now - INTERVAL 60 DAY, @now - INTERVAL 60 DAY,
     1, 0, 10000, 10000, @now - INTERVAL 1 DAY, @now + INTERVAL 30 DAY, 0, 100, 1, '-30'),
 (2, '前端学习通用优惠券', 0, 1, 1, @now - INTERVAL 60 DAY, @now - INTERVAL 60 DAY,
     1, 1, 100, 100, @now - INTERVAL 1 DAY, @now + INTERVAL 30 DAY, 0, 0, 1, '-50'),
 (3, 'Typescript课程专用券', 0, 1, 1, @now - INTERVAL 60 DAY, @now - INTERVAL 60 DAY,
     2, 3, 1000, 1000, @now - INTERVAL 1 DAY, @now + INTERVAL 30 DAY, 0, 0, 1, '*0.88'),
 (4, 'python七夕专用券', 0, 1, 1, @now - INTERVAL 60 DAY, @now - INTERVAL 60 DAY,
     1, 2, 200, 200, @now - INTERVAL 60 DAY, @now - INTERVAL 1 DAY, 1, 0, 1, '-99'),
 (5, '算法学习优惠券', 0, 1, 1, @now - INTERVAL 60 DAY, @now - INTERVAL 60 DAY,
     2, 2, 1000, 1000, @now + INTERVAL 1 DAY, @now + INTERVAL 60 DAY, 0, 200, 1, '*0.85');

-- Scope rows. The seeds pointed at category ids 20/21 (Python) and 33 (algorithms) of their own
-- catalogue; here they are categories 3, 4 (Python基础, Python Web) and 5 (数据结构与算法).
INSERT INTO ly_coupon_course_direction (id, created_time, coupon_id, direction_id) VALUES
 (1, @now - INTERVAL 60 DAY, 2, 1);
INSERT INTO ly_coupon_course_category (id, created_time, category_id, coupon_id) VALUES
 (1, @now - INTERVAL 60 DAY, 3, 4),
 (2, @now - INTERVAL 60 DAY, 4, 4),
 (3, @now - INTERVAL 60 DAY, 5, 5);
INSERT INTO ly_coupon_course (id, created_time, coupon_id, course_id) VALUES
 (1, @now - INTERVAL 60 DAY, 3, 1),
 (2, @now - INTERVAL 60 DAY, 3, 2);

-- ---------------------------------------------------------------- orders
-- Later columns of a row may use earlier ones (created_time, user_id, id, pay_time).
INSERT INTO ly_order (id, user_id, created_time, order_status, name, is_deleted, orders, is_show,
                      updated_time, total_price, real_price, order_number, pay_type, order_desc,
                      pay_time, credit, trade_no) VALUES
 (1, 1, @now - INTERVAL 40 DAY, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     239.20, 239.20, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 0,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (2, 1, @now - INTERVAL 35 DAY, 2, '购买课程', 0, 0, 1, created_time + INTERVAL 10 MINUTE,
     998.00, 998.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (3, 1, @now - INTERVAL 30 DAY, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     298.00, 296.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 20,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (4, 1, @now - INTERVAL 25 DAY, 3, '购买课程', 0, 0, 1, created_time + INTERVAL 16 MINUTE,
     399.00, 399.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (5, 1, @now - INTERVAL 20 DAY, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     1999.00, 1984.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 150,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (6, 1, @now - INTERVAL 15 DAY, 2, '购买课程', 0, 0, 1, created_time + INTERVAL 10 MINUTE,
     2198.00, 2198.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (7, 1, @now - INTERVAL 12 DAY, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     699.00, 600.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 0,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (8, 1, @now - INTERVAL 10 DAY, 3, '购买课程', 0, 0, 1, created_time + INTERVAL 16 MINUTE,
     2696.00, 2696.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (9, 1, @now - INTERVAL 8 DAY, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     499.00, 499.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 0,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (10, 1, @now - INTERVAL 6 DAY, 2, '购买课程', 0, 0, 1, created_time + INTERVAL 10 MINUTE,
     1299.00, 1299.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (11, 1, @now - INTERVAL 4 DAY, 3, '购买课程', 0, 0, 1, created_time + INTERVAL 16 MINUTE,
     2098.00, 2098.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (12, 1, @now - INTERVAL 2 DAY, 2, '购买课程', 0, 0, 1, created_time + INTERVAL 10 MINUTE,
     1298.00, 1298.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (13, 1, @now - INTERVAL 180 SECOND, 0, '购买课程', 0, 0, 1, created_time,
     1878.20, 1878.20, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (14, 1, @now - INTERVAL 120 SECOND, 0, '购买课程', 0, 0, 1, created_time,
     899.00, 899.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL),
 (15, 2, @now - INTERVAL 90 SECOND, 1, '购买课程', 0, 0, 1, created_time + INTERVAL 1 MINUTE,
     998.00, 998.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, created_time + INTERVAL 1 MINUTE, 0,
     CONCAT(DATE_FORMAT(pay_time, '%Y%m%d'), '22009999', LPAD(id, 12, '0'))),
 (16, 2, @now - INTERVAL 60 SECOND, 0, '购买课程', 0, 0, 1, created_time,
     399.00, 399.00, CONCAT(DATE_FORMAT(created_time, '%Y%m%d'), LPAD(user_id, 8, '0'), LPAD(90000000 + id, 8, '0')),
     0, NULL, NULL, 0, NULL);

-- One row per ordered course: name and price are the course's, real_price is what was charged
-- for it (activity price when one was running at order time), discount_name the activity type.
INSERT INTO ly_order_course (id, order_id, course_id, name, is_deleted, orders, is_show,
                             created_time, updated_time, price, real_price, discount_name)
SELECT d.id, d.order_id, d.course_id, c.name, 0, 0, 1, o.created_time, o.created_time,
       c.price, d.real_price, d.discount_name
  FROM (          SELECT  1 AS id,  1 AS order_id,  7 AS course_id,  239.20 AS real_price, '限时折扣' AS discount_name
        UNION ALL SELECT  2,  2,  1,  998.00, ''
        UNION ALL SELECT  3,  3,  9,  199.00, ''
        UNION ALL SELECT  4,  3, 12,   99.00, ''
        UNION ALL SELECT  5,  4,  3,  399.00, ''
        UNION ALL SELECT  6,  5, 10, 1999.00, ''
        UNION ALL SELECT  7,  6,  2, 1299.00, ''
        UNION ALL SELECT  8,  6,  8,  899.00, ''
        UNION ALL SELECT  9,  7,  6,  699.00, ''
        UNION ALL SELECT 10,  8,  1,  998.00, ''
        UNION ALL SELECT 11,  8,  2, 1299.00, ''
        UNION ALL SELECT 12,  8,  3,  399.00, ''
        UNION ALL SELECT 13,  9, 11,  499.00, ''
        UNION ALL SELECT 14, 10,  2, 1299.00, ''
        UNION ALL SELECT 15, 11,  4,  599.00, ''
        UNION ALL SELECT 16, 11,  5, 1499.00, ''
        UNION ALL SELECT 17, 12,  3,  399.00, ''
        UNION ALL SELECT 18, 12,  8,  899.00, ''
        UNION ALL SELECT 19, 13,  4,  479.20, '限时折扣'
        UNION ALL SELECT 20, 13,  5, 1399.00, '限时减免'
        UNION ALL SELECT 21, 14,  8,  899.00, ''
        UNION ALL SELECT 22, 15,  1,  998.00, ''
        UNION ALL SELECT 23, 16,  3,  399.00, '') AS d
  JOIN ly_course c ON c.id = d.course_id
  JOIN ly_order o ON o.id = d.order_id
 ORDER BY d.id;

-- ---------------------------------------------------------------- what the paid orders settled
-- Coupon log: the seeds' six unused coupons of user 1, plus coupon 4 used by order 7.
INSERT INTO ly_coupon_log (id, is_deleted, orders, is_show, created_time, updated_time, name,
                           use_time, use_status, coupon_id, order_id, user_id) VALUES
 (5,  0, 1, 1, @now - INTERVAL 20 HOUR, @now - INTERVAL 20 HOUR, '30元通用优惠券222', NULL, 0, 1, NULL, 1),
 (8,  0, 1, 1, @now - INTERVAL 19 HOUR, @now - INTERVAL 19 HOUR, '前端学习通用优惠券', NULL, 0, 2, NULL, 1),
 (9,  0, 1, 1, @now - INTERVAL 18 HOUR, @now - INTERVAL 18 HOUR, 'Typescript课程专用券', NULL, 0, 3, NULL, 1),
 (10, 0, 1, 1, @now - INTERVAL 30 DAY,  @now - INTERVAL 30 DAY,  'python七夕专用券', NULL, 0, 4, NULL, 1),
 (11, 0, 1, 1, @now - INTERVAL 17 HOUR, @now - INTERVAL 17 HOUR, '前端学习通用优惠券', NULL, 0, 2, NULL, 1),
 (12, 0, 1, 1, @now - INTERVAL 2 HOUR,  @now - INTERVAL 2 HOUR,  '算法学习优惠券', NULL, 0, 5, NULL, 1),
 (13, 0, 1, 1, @now - INTERVAL 14 DAY,  (SELECT pay_time FROM ly_order WHERE id = 7), 'python七夕专用券',
      (SELECT pay_time FROM ly_order WHERE id = 7), 1, 4, 7, 1);

-- Every course of every paid order belongs to its buyer.
INSERT INTO ly_user_course (name, is_deleted, orders, is_show, created_time, updated_time, study_time,
                            chapter_id, course_id, lesson_id, user_id, trade_no, buy_type, pay_time, out_time)
SELECT oc.name, 0, 0, 1, o.pay_time, o.pay_time, 0, NULL, oc.course_id, NULL, o.user_id,
       o.trade_no, 1, o.pay_time, NULL
  FROM ly_order o JOIN ly_order_course oc ON oc.order_id = o.id
 WHERE o.order_status = 1
 ORDER BY o.id, oc.id;

-- Credit ledger: signup gift, then one 购物消费 row (negative) per paid order that used credit.
INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time,
                       operation, number, remark, user_id) VALUES
 ('系统赠送', 0, 0, 1, @now - INTERVAL 90 DAY, @now - INTERVAL 90 DAY, 2, 670, '新用户注册赠送积分', 1);
INSERT INTO ly_credit (name, is_deleted, orders, is_show, created_time, updated_time,
                       operation, number, remark, user_id)
SELECT '购物消费', 0, 0, 1, o.pay_time, o.pay_time, 1, -o.credit,
       CONCAT('订单 ', o.order_number, ' 使用积分抵扣'), o.user_id
  FROM ly_order o
 WHERE o.order_status = 1 AND o.credit > 0
 ORDER BY o.id;

-- The demo courses' student counts predate the service: they are its baseline for the audit
-- (sql/017_course_students_baseline.sql).
TRUNCATE TABLE ly_course_students_baseline;
INSERT INTO ly_course_students_baseline (course_id, students, grants, created_time)
SELECT c.id, c.students,
       (SELECT COUNT(*) FROM ly_user_course uc WHERE uc.course_id = c.id AND uc.buy_type = 1), NOW(6)
FROM ly_course c;
