-- Students counted beside ly_course on a Galera cluster (docs/ARCHITECTURE.md, "Hot rows"): every
-- settlement of a course wrote its ly_course row (`students + 1`), so two settlements of one course
-- through two nodes at once failed certification and one ran again, the whole settlement (measured:
-- 1.4 re-runs a settlement, and notifications refused, for one course paid through two nodes).
-- On a cluster a settlement adds to its node's own row here (`slot`: the node's
-- auto_increment_offset, distinct per node), which no other node writes; the sweeper folds the
-- rows into ly_course.students. A single server still counts on ly_course itself and leaves this
-- table empty. `luffy-pay audit` counts the rows not folded yet (README, "The invariant audit").
CREATE TABLE IF NOT EXISTS ly_course_students_delta (
  `course_id` bigint(20) NOT NULL,
  `slot` int(11) NOT NULL,
  `students` int(11) NOT NULL,
  PRIMARY KEY (`course_id`, `slot`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
