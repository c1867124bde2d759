-- Dates, times, timestamps, intervals: arithmetic, comparison, output text, functions.

SELECT _key, created_date FROM aws.apigatewayv2_stage

SELECT _key, created_date::text FROM aws.apigatewayv2_stage

SELECT _key, created_date::date FROM aws.apigatewayv2_stage

SELECT _key, created_date::timestamptz FROM aws.apigatewayv2_stage

SELECT _key, last_updated_date - created_date FROM aws.apigatewayv2_stage

SELECT _key, (last_updated_date - created_date)::text FROM aws.apigatewayv2_stage

SELECT _key, created_date + interval '1 month' FROM aws.apigatewayv2_stage

SELECT _key, created_date - interval '36 hours' FROM aws.apigatewayv2_stage

SELECT _key, created_date + interval '1 day' * 3 FROM aws.apigatewayv2_stage

SELECT _key, date_trunc('hour', created_date) FROM aws.apigatewayv2_stage

SELECT _key, date_trunc('week', created_date) FROM aws.apigatewayv2_stage

SELECT _key, extract(year FROM created_date), extract(month FROM created_date), extract(dow FROM created_date) FROM aws.apigatewayv2_stage

SELECT _key, extract(epoch FROM created_date) FROM aws.apigatewayv2_stage

SELECT _key, date_part('hour', created_date) FROM aws.apigatewayv2_stage

SELECT _key, extract(epoch FROM last_updated_date - created_date) FROM aws.apigatewayv2_stage

SELECT _key, to_char(created_date, 'YYYY-MM-DD') FROM aws.apigatewayv2_stage

SELECT _key, to_char(created_date, 'YYYY-MM-DD HH24:MI:SS') FROM aws.apigatewayv2_stage

SELECT _key, to_char(created_date, 'Mon DD, YYYY') FROM aws.apigatewayv2_stage

SELECT to_char(created_date, 'YYYY-MM') AS month, count(*) FROM aws.apigatewayv2_stage GROUP BY 1

SELECT _key, age(last_updated_date, created_date) FROM aws.apigatewayv2_stage

SELECT _key, created_date AT TIME ZONE 'UTC' FROM aws.apigatewayv2_stage

SELECT _key, created_date::timestamptz AT TIME ZONE 'America/New_York' FROM aws.apigatewayv2_stage

SELECT _key, created_date AT TIME ZONE 'Europe/Paris' FROM aws.apigatewayv2_stage

SELECT interval '1 day' = interval '24 hours'

SELECT interval '1 month' = interval '30 days'

SELECT interval '1 day 2 hours' > interval '25 hours'

SELECT interval '90 minutes'

SELECT interval '1 day 21:30:07'

SELECT interval '45 hours 30 minutes 7 seconds'

SELECT interval '1 year 2 months 3 days'

SELECT interval '-1 day'

SELECT interval '1.5 days'

SELECT interval '1 day' * 2.5

SELECT interval '1 hour' / 4

SELECT make_interval(days => 3, hours => 4)

SELECT timestamp '2026-01-05 10:00' - timestamp '2026-01-01 08:30'

SELECT '2026-01-05 10:00'::timestamp

SELECT '2026-01-05'::timestamp

SELECT '2026-01-05T10:00:00Z'::timestamptz

SELECT '2026-01-05 10:00:00.123456'::timestamp

SELECT '2026-02-30'::timestamp

SELECT '2026-13-01'::date

SELECT date '2026-03-01' - date '2026-02-01'

SELECT date '2026-03-01' + 7

SELECT date '2026-03-01' + interval '1 hour'

SELECT date_trunc('month', timestamp '2026-03-17 12:34:56')

SELECT generate_series(timestamp '2026-01-01', timestamp '2026-01-03', interval '12 hours')

SELECT d::date FROM generate_series(timestamp '2026-01-01', timestamp '2026-01-05', interval '1 day') d

SELECT make_date(2026, 2, 28), make_timestamp(2026, 2, 28, 13, 5, 6.5)

SELECT to_timestamp(1767225600)

SELECT extract(epoch FROM timestamp '2026-01-01 00:00:00')

SELECT justify_hours(interval '50 hours'), justify_days(interval '40 days')

SELECT count(*) FROM aws.apigatewayv2_stage WHERE created_date >= date_trunc('month', timestamp '2026-01-15') AND created_date < date_trunc('month', timestamp '2026-01-15') + interval '1 month'

SELECT isfinite(created_date) FROM aws.apigatewayv2_stage LIMIT 1

SELECT timestamp '2026-01-01 00:00:00' + interval '1 month' - interval '1 day'

SELECT date_bin(interval '15 minutes', timestamp '2026-01-01 10:07:00', timestamp '2026-01-01')

SELECT max(last_updated_date - created_date) FROM aws.apigatewayv2_stage

SELECT to_char(timestamp '2026-03-07 14:05:09.123456', 'FMMonth FMDD, Day HH12:MI:SS.MS AM Q WW IW DDD J')

SELECT to_char(created_date, 'Dy DD Mon YYYY "at" HH24"h"') FROM aws.apigatewayv2_stage

SELECT x FROM (VALUES (interval '1 day'), (interval '25 hours'), (interval '1 month'), (interval '29 days 23 hours')) v(x) ORDER BY x

SELECT timestamp '2026-01-05 10:00:00' AT TIME ZONE 'Asia/Tokyo', timestamptz '2026-07-01 12:00:00+00' AT TIME ZONE 'Europe/Paris'

SELECT _key, created_date::timestamptz::text, created_date::date::text, 'at ' || created_date FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 5

SELECT (interval '1 day 2 hours 3 minutes')::text, (interval '-36 hours')::text, (timestamp '2026-01-05 10:00:00.25')::text

SELECT '2026-01-05 10:00'::timestamp, '2026-01-05T10:00:00+02'::timestamptz, '2026-01-05 10:00:00+02'::timestamp, 'epoch'::date, '2026-01-05 24:00:00'::timestamp

SELECT count(*) FROM aws.apigatewayv2_stage WHERE created_date >= '2026-03-01 00:00' AND created_date < '2026-06-01'

SELECT age(timestamp '2026-01-01', timestamp '2025-06-15 10:00'), age(timestamp '2025-06-15 10:00', timestamp '2026-01-01'), age(date '2024-03-01', date '2024-01-31')

SELECT region, max(age(last_updated_date, created_date)) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY region

SELECT interval '1 mon' / 4, 3 * interval '1 mon', interval '1 mon 1 day' * 0.3, interval '-1 day' * 1.5

SELECT interval '1 day' / 0

SELECT make_interval(1, 2, 3, 4, 5, 6, 7.5), make_interval(secs => 90), make_interval(weeks => 2)

SELECT justify_hours(interval '-50 hours'), justify_interval(interval '-1 mon 1 hour')

SELECT count(*) FROM aws.apigatewayv2_stage WHERE last_updated_date - created_date > interval '1 hour' * 24

SELECT to_timestamp('2026-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US'), to_timestamp('05 Dec 2000', 'DD Mon YYYY'), to_date('2026/3/7', 'YYYY/MM/DD')

SELECT count(*) FROM aws.apigatewayv2_stage WHERE created_date >= TO_TIMESTAMP('2026-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')

SELECT to_timestamp('2026-01-01 01:00 PM', 'YYYY-MM-DD HH12:MI AM'), to_timestamp('26-1-1', 'YY-MM-DD'), to_timestamp('2026 12.3', 'YYYY SS.MS'), to_timestamp(1700000000.5)

SELECT to_timestamp('2026-02-30', 'YYYY-MM-DD')

SELECT to_char(created_date, 'YYYY-MM-DD HH24:MI:SS') = to_char(to_timestamp(to_char(created_date, 'YYYY-MM-DD HH24:MI:SS'), 'YYYY-MM-DD HH24:MI:SS'), 'YYYY-MM-DD HH24:MI:SS') FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT '0001-01-01'::timestamp - interval '1 day', '0001-01-01 00:00:00'::timestamp - interval '1 microsecond', '0001-01-01'::date - 1, '9999-12-31 23:00'::timestamp + interval '2 hours'

SELECT ('0001-01-01'::timestamp - interval '400 days')::timestamptz AS tz, ('0001-01-01'::timestamp - interval '400 days')::text AS t

SELECT created_date AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Tokyo', '2026-01-05 10:00'::timestamp(3) with time zone, (interval '2 hours')::text FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2

SELECT '2026-13-01'::date UNION SELECT now()::date

SELECT 'not a date'::timestamp UNION ALL SELECT created_date FROM aws.apigatewayv2_stage

SELECT CASE WHEN false THEN '2026-02-30'::timestamptz END

SELECT count(*) FROM aws.apigatewayv2_stage WHERE created_date >= '2026-01-01' AND created_date < '2026-04-01 00:00'::timestamp

SELECT 'epoch'::date UNION SELECT '2026-01-05'::date ORDER BY 1

SELECT interval '1 day 21:30:07', interval '21:30:07', '1 day 01:00'::interval, interval '-01:30', interval '1 2:03:04'

SELECT interval '@ 1 day 2 hours ago', interval '1 year 2 mons 3 days 04:05:06.5', interval '10:05.5', interval '5', interval '-1 day +02:00:00'

SELECT _key, created_date + interval '01:30', created_date - '1 day 12:00:00'::interval FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT interval '25:61'

SELECT ('1 day ' || length(stage_name) || ':30')::interval FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3
