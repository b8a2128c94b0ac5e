-- Asterisk's realtime queue_log table, in the PostgreSQL database of res_pgsql.conf.
-- The columns are those of Asterisk's own schema (contrib/ast-db-manage/queue_log,
-- "create queue_log table"); main/logger.c fills them: `time` as text '%F %T.%6q' (UTC with
-- logger.conf's queue_log_realtime_use_gmt = yes), the event's parameters split over data1..data5
-- because the table has those columns. The product reads it from a moment on after each gap in its
-- AMI link (ami/queue_log_table.py), hence the index on time.
CREATE TABLE IF NOT EXISTS queue_log (
    id BIGSERIAL PRIMARY KEY,
    time TIMESTAMP,
    callid VARCHAR(80),
    queuename VARCHAR(256),
    agent VARCHAR(80),
    event VARCHAR(32),
    data1 VARCHAR(100),
    data2 VARCHAR(100),
    data3 VARCHAR(100),
    data4 VARCHAR(100),
    data5 VARCHAR(100)
);
CREATE INDEX IF NOT EXISTS queue_log_time ON queue_log (time);
