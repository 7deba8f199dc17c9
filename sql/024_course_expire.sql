-- Course validity periods, as the 1.x shop sold them (README, "Validity periods"): a course offers
-- options of `expire_time` days at their own `price` besides the implicit permanent option (id 0,
-- the course's own price). The table is the 1.x model's `ly_course_expire`, with the columns every
-- ly_* table carries.
CREATE TABLE IF NOT EXISTS ly_course_expire (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL DEFAULT '',
  `is_deleted` tinyint(1) NOT NULL DEFAULT 0,
  `orders` int(11) NOT NULL DEFAULT 0,
  `is_show` tinyint(1) NOT NULL DEFAULT 1,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  `expire_time` int(11) NULL,
  `expire_text` varchar(150) NULL,
  `price` decimal(10,2) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `ly_course_expire_course_id` (`course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The period an order line bought, copied from the option when the order was made so that the
-- order's history survives a later change of the options: its days (0 = permanent) and its text.
-- The lines written before this file bought permanent access. INSTANT: ly_order_course is one of
-- the big tables, and a copy of it would hold its writes for minutes (docs/SCALE.md); a server that
-- cannot add the columns in place refuses the file instead of copying the table.
ALTER TABLE ly_order_course
  ADD COLUMN IF NOT EXISTS `expire_time` int(11) NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS `expire_text` varchar(150) NOT NULL DEFAULT '永久有效',
  ALGORITHM=INSTANT;
