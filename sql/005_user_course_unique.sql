-- 005: a user owns a course at most once, so a repeated settlement cannot grant it twice.
CREATE UNIQUE INDEX IF NOT EXISTS `ly_user_course_user_course_uniq` ON `ly_user_course` (`user_id`, `course_id`);
