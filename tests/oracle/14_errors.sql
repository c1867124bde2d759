-- Errors: what PostgreSQL refuses, and with which SQLSTATE.

SELECT no_such_column FROM aws.apigatewayv2_stage

SELECT * FROM aws.no_such_table

SELECT * FROM no_such_schema.t

SELECT no_such_function(1)

SELECT length(1, 2, 3)

SELECT 1 +

SELECT * FROM aws.apigatewayv2_stage WHERE

SELECT stage_name, count(*) FROM aws.apigatewayv2_stage

SELECT _key FROM aws.apigatewayv2_stage GROUP BY stage_name

SELECT _key FROM aws.apigatewayv2_stage ORDER BY 99

SELECT region FROM aws.apigatewayv2_stage GROUP BY 5

SELECT 'abc'::int

SELECT 'abc' + 1

SELECT true + 1

SELECT stage_name + 1 FROM aws.apigatewayv2_stage

SELECT 'a' = 1

SELECT created_date > 5 FROM aws.apigatewayv2_stage

SELECT count(*) FROM aws.apigatewayv2_stage WHERE count(*) > 1

SELECT sum(stage_name) FROM aws.apigatewayv2_stage

SELECT avg(auto_deploy) FROM aws.apigatewayv2_stage

SELECT row_number() FROM aws.apigatewayv2_stage

SELECT x FROM (SELECT 1 AS x, 2 AS x) t

SELECT a._key FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b WHERE _key = 'x'

SELECT 1 UNION SELECT 1, 2

SELECT 1 UNION SELECT 'a'

SELECT DISTINCT region FROM aws.apigatewayv2_stage ORDER BY stage_name

SELECT * FROM aws.apigatewayv2_stage LIMIT -1

SELECT * FROM aws.apigatewayv2_stage OFFSET -1

SELECT * FROM aws.apigatewayv2_stage LIMIT 'x'

SELECT substring('abc' FROM 2 FOR -1)

SELECT repeat('x', -1), lpad('x', -5)

SELECT split_part('a,b', ',', 0)

SELECT date_trunc('fortnight', created_date) FROM aws.apigatewayv2_stage

SELECT extract(nothing FROM created_date) FROM aws.apigatewayv2_stage

SELECT '2026-01-01'::date + '2026-01-01'::date

SELECT interval 'one day'

SELECT to_timestamp('abc', 'YYYY')

SELECT 'x'::hstore

SELECT '{a,b'::text[]

SELECT '{a,,b}'::text[]

SELECT '{"a"b}'::text[]

SELECT '{{1,2},{3,4}}'::int[]

SELECT power(-8, 0.5)

SELECT ln(length(stage_name) - 100) FROM aws.apigatewayv2_stage

SELECT chr(1114112)

SELECT 'x'::varchar(10485761)

WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3 LIMIT 2) SELECT * FROM r

SELECT ARRAY[1, 2][0:1], ('{1,2}'::int[])['a']

SELECT sqrt(-1)

SELECT ln(0)

SELECT log(-1)

SELECT power(0, -1)

SELECT 10::int2 * 10000::int2

SELECT 'x'::varchar(0)

SELECT percentile_cont(2) WITHIN GROUP (ORDER BY 1)

SELECT ntile(0) OVER () FROM aws.apigatewayv2_stage

SELECT _key, lag(_key, -1) OVER (ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT nth_value(_key, 0) OVER () FROM aws.apigatewayv2_stage

SELECT generate_series(1, 10, 0)

SELECT chr(0)

SELECT chr(-1)

SELECT regexp_replace('a', '(', 'b')

SELECT 'a' ~ '*'

SELECT WITH

SELECT "unterminated

SELECT 'unterminated

SELECT (SELECT 1, 2)

SELECT _key FROM aws.apigatewayv2_stage WHERE _key = (SELECT _key FROM aws.apigatewayv2_stage)

SELECT * FROM aws.apigatewayv2_stage WHERE stage_name IN (SELECT 1, 2)

WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3 ORDER BY n) SELECT * FROM r

SELECT json_extract_path('not json', 'a')

SELECT ('{"a":1}'::json)::int

SELECT COALESCE(1, 'a')

SELECT CASE WHEN true THEN 1 ELSE 'a' END

SELECT ARRAY[1, 'a']

SELECT _key FROM aws.apigatewayv2_stage FETCH FIRST -1 ROWS ONLY

SELECT 'x' AS y UNION SELECT 2

SELECT CASE WHEN _key IS NULL THEN 1 WHEN stage_name = 'x' THEN 2 ELSE 'three' END FROM aws.apigatewayv2_stage

SELECT stage_name ~ ('(' || stage_name) FROM aws.apigatewayv2_stage

SELECT regexp_replace(stage_name, '[' || stage_name, 'x') FROM aws.apigatewayv2_stage

SELECT 'not a date'::date

SELECT '2026-01-05 25:00'::timestamp

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date > 'soon'

SELECT '1e'::numeric

SELECT ' . '::numeric

SELECT log(1, 8)

SELECT '2026-01-05 10:00 é'::timestamp

SELECT '[1e131072]'::jsonb

SELECT '[1e-16384]'::jsonb

-- Text read as an integer: PostgreSQL's input function allows whitespace and a sign, refuses
-- everything else with 22P02, and a number out of the type's range with 22003.
SELECT ' 12 '::int, '+7'::int2, E'\t-9\n'::bigint, '007'::int

SELECT '1.5'::int

SELECT ''::bigint

SELECT '32768'::smallint

SELECT '-9223372036854775809'::bigint

SELECT count(*) FROM aws.apigatewayv2_stage WHERE length(stage_name) = ' 4 '

SELECT stage_name FROM aws.apigatewayv2_stage WHERE length(stage_name)::text::int > 5 ORDER BY 1 LIMIT 3
