-- ly_course.students predates this service (the Django shop's counts, the demo data's): it is not
-- the number of purchases. This records, per course, the count and the purchases (ly_user_course
-- rows with buy_type 1) as they stood when the service took over, so `luffy-pay audit` can check
-- that from then on every purchase added exactly one student (README, "The invariant audit").
-- A course without a row here (added later) starts from 0 students and 0 purchases.
CREATE TABLE IF NOT EXISTS ly_course_students_baseline (
  `course_id` bigint(20) NOT NULL,
  `students` int(11) NOT NULL,
  `grants` int(11) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  PRIMARY KEY (`course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO ly_course_students_baseline (course_id, students, grants, created_time)
SELECT c.id, c.students,
       (SELECT COUNT(*) FROM ly_user_course uc WHERE uc.course_id = c.id AND uc.buy_type = 1), NOW(6)
FROM ly_course c;
