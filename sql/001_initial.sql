-- 001: the original luffycity tables, column for column as Django 4.2 builds them from the
-- models (see shared/reference/django-schema.sql). Django keeps defaults in Python, so the
-- NOT NULL columns carry no DEFAULT here: every INSERT must supply them.
-- Guarded with IF NOT EXISTS so that running the file again changes nothing.

CREATE TABLE IF NOT EXISTS `ly_activity` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `start_time` datetime(6) NOT NULL,
  `end_time` datetime(6) NOT NULL,
  `description` longtext NULL,
  `remark` longtext NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_coupon` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `discount` smallint(6) NOT NULL,
  `coupon_type` smallint(6) NOT NULL,
  `total` int(11) NOT NULL,
  `has_total` int(11) NOT NULL,
  `start_time` datetime(6) NOT NULL,
  `end_time` datetime(6) NOT NULL,
  `get_type` smallint(6) NOT NULL,
  `condition` int(11) NOT NULL,
  `per_limit` smallint(6) NOT NULL,
  `sale` longtext NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_coupon_course` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `created_time` datetime(6) NOT NULL,
  `coupon_id` bigint(20) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_coupon_course_coupon_id` (`coupon_id`),
  KEY `ly_coupon_course_course_id` (`course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_coupon_course_category` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `created_time` datetime(6) NOT NULL,
  `category_id` bigint(20) NOT NULL,
  `coupon_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_coupon_course_category_category_id` (`category_id`),
  KEY `ly_coupon_course_category_coupon_id` (`coupon_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_coupon_course_direction` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `created_time` datetime(6) NOT NULL,
  `coupon_id` bigint(20) NOT NULL,
  `direction_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_coupon_course_direction_coupon_id` (`coupon_id`),
  KEY `ly_coupon_course_direction_direction_id` (`direction_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_coupon_log` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `name` varchar(100) NULL,
  `use_time` datetime(6) NULL,
  `use_status` smallint(6) NULL,
  `coupon_id` bigint(20) NOT NULL,
  `order_id` bigint(20) NULL,
  `user_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_coupon_log_coupon_id` (`coupon_id`),
  KEY `ly_coupon_log_order_id` (`order_id`),
  KEY `ly_coupon_log_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `course_cover` varchar(255) NULL,
  `course_video` varchar(255) NULL,
  `course_type` smallint(6) NOT NULL,
  `level` smallint(6) NOT NULL,
  `description` longtext NULL,
  `pub_date` date NOT NULL,
  `period` int(11) NOT NULL,
  `attachment_path` varchar(1000) NULL,
  `attachment_link` varchar(1000) NULL,
  `status` smallint(6) NOT NULL,
  `students` int(11) NOT NULL,
  `lessons` int(11) NOT NULL,
  `pub_lessons` int(11) NOT NULL,
  `price` decimal(10,2) NULL,
  `credit` int(11) NULL,
  `recomment_home_hot` tinyint(1) NOT NULL,
  `recomment_home_top` tinyint(1) NOT NULL,
  `category_id` bigint(20) NULL,
  `direction_id` bigint(20) NULL,
  `teacher_id` bigint(20) NULL,
  PRIMARY KEY (`id`),
  KEY `ly_course_category_id` (`category_id`),
  KEY `ly_course_direction_id` (`direction_id`),
  KEY `ly_course_teacher_id` (`teacher_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course_activity_price` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `activity_id` bigint(20) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  `discount_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_course_activity_price_activity_id` (`activity_id`),
  KEY `ly_course_activity_price_course_id` (`course_id`),
  KEY `ly_course_activity_price_discount_id` (`discount_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course_category` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `name` varchar(255) NOT NULL,
  `remark` longtext NULL,
  `direction_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `name` (`name`),
  KEY `ly_course_category_direction_id` (`direction_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course_chapter` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `orders` smallint(6) NOT NULL,
  `summary` longtext NULL,
  `pub_date` date NOT NULL,
  `course_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_course_chapter_course_id` (`course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course_direction` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `name` varchar(255) NOT NULL,
  `remark` longtext NULL,
  `recomment_home_hot` tinyint(1) NOT NULL,
  `recomment_home_top` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_course_lesson` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `orders` smallint(6) NOT NULL,
  `lesson_type` smallint(6) NOT NULL,
  `lesson_link` varchar(255) NULL,
  `duration` varchar(32) NULL,
  `pub_date` datetime(6) NOT NULL,
  `free_trail` tinyint(1) NOT NULL,
  `recomment` tinyint(1) NOT NULL,
  `chapter_id` bigint(20) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_course_lesson_chapter_id` (`chapter_id`),
  KEY `ly_course_lesson_course_id` (`course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_credit` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `operation` smallint(6) NOT NULL,
  `number` int(11) NOT NULL,
  `remark` varchar(500) NULL,
  `user_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_credit_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_discount` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `condition` int(11) NOT NULL,
  `sale` longtext NOT NULL,
  `discount_type_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_discount_discount_type_id` (`discount_type_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_discount_type` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `remark` varchar(250) NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_order` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `total_price` decimal(10,2) NOT NULL,
  `real_price` decimal(10,2) NOT NULL,
  `order_number` varchar(64) NOT NULL,
  `order_status` smallint(6) NOT NULL,
  `pay_type` smallint(6) NOT NULL,
  `order_desc` longtext NULL,
  `pay_time` datetime(6) NULL,
  `credit` int(11) NULL,
  `user_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_order_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_order_course` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `price` decimal(10,2) NOT NULL,
  `real_price` decimal(10,2) NOT NULL,
  `discount_name` varchar(120) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  `order_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_order_course_course_id` (`course_id`),
  KEY `ly_order_course_order_id` (`order_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_teacher` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `role` smallint(6) NOT NULL,
  `title` varchar(64) NOT NULL,
  `signature` varchar(255) NULL,
  `avatar` varchar(100) NULL,
  `brief` longtext NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_user_course` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `is_deleted` tinyint(1) NOT NULL,
  `orders` int(11) NOT NULL,
  `is_show` tinyint(1) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  `study_time` int(11) NOT NULL,
  `chapter_id` bigint(20) NULL,
  `course_id` bigint(20) NOT NULL,
  `lesson_id` bigint(20) NULL,
  `user_id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_user_course_chapter_id` (`chapter_id`),
  KEY `ly_user_course_course_id` (`course_id`),
  KEY `ly_user_course_lesson_id` (`lesson_id`),
  KEY `ly_user_course_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ly_users` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `password` varchar(128) NOT NULL,
  `last_login` datetime(6) NULL,
  `is_superuser` tinyint(1) NOT NULL,
  `username` varchar(150) NOT NULL,
  `first_name` varchar(150) NOT NULL,
  `last_name` varchar(150) NOT NULL,
  `email` varchar(254) NOT NULL,
  `is_staff` tinyint(1) NOT NULL,
  `is_active` tinyint(1) NOT NULL,
  `date_joined` datetime(6) NOT NULL,
  `mobile` varchar(15) NOT NULL,
  `money` decimal(9,2) NOT NULL,
  `credit` int(11) NOT NULL,
  `avatar` varchar(100) NULL,
  `nickname` varchar(50) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username` (`username`),
  UNIQUE KEY `mobile` (`mobile`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
