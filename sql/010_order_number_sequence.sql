-- Order numbers end in a database sequence (SPEC 7.5): unique across every app instance, with
-- no Redis counter. Sequences are not transactional, so a rolled-back order leaves a gap, which
-- is harmless: numbers only need to be unique.
CREATE SEQUENCE IF NOT EXISTS ly_order_number_seq START WITH 1 INCREMENT BY 1 NOCYCLE CACHE 100;
