-- Common table expressions, recursive ones too.

WITH a AS (SELECT account_id, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY account_id) SELECT * FROM a

WITH a AS (SELECT * FROM aws.apigatewayv2_stage WHERE auto_deploy) SELECT count(*) FROM a

WITH a AS (SELECT region FROM aws.apigatewayv2_stage), b AS (SELECT DISTINCT region FROM a) SELECT * FROM b

WITH a AS (SELECT _key, region FROM aws.apigatewayv2_stage) SELECT x.region, count(*) FROM a x JOIN a y ON x._key = y._key GROUP BY x.region

WITH a AS MATERIALIZED (SELECT _key FROM aws.apigatewayv2_stage) SELECT count(*) FROM a

WITH a AS NOT MATERIALIZED (SELECT _key FROM aws.apigatewayv2_stage) SELECT count(*) FROM a

WITH a(k, r) AS (SELECT _key, region FROM aws.apigatewayv2_stage) SELECT r, count(k) FROM a GROUP BY r

WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r

WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r ORDER BY n

WITH RECURSIVE r(n, f) AS (SELECT 1, 1::bigint UNION ALL SELECT n + 1, f * (n + 1) FROM r WHERE n < 15) SELECT n, f FROM r ORDER BY n

WITH RECURSIVE d(day) AS (SELECT date '2026-01-01' UNION ALL SELECT (day + 1)::date FROM d WHERE day < date '2026-01-07') SELECT day FROM d ORDER BY day

WITH RECURSIVE r(c) AS (SELECT count(*) FROM aws.apigatewayv2_stage UNION ALL SELECT c - 10 FROM r WHERE c > 10) SELECT c FROM r ORDER BY c

WITH RECURSIVE r(k, depth) AS (SELECT min(_key), 0 FROM aws.apigatewayv2_stage UNION ALL SELECT (SELECT min(_key) FROM aws.apigatewayv2_stage s WHERE s._key > r.k), depth + 1 FROM r WHERE depth < 3) SELECT * FROM r ORDER BY depth

WITH RECURSIVE parts(s, rest) AS (SELECT '', 'a-b-c' UNION ALL SELECT split_part(rest, '-', 1), substr(rest, length(split_part(rest, '-', 1)) + 2) FROM parts WHERE rest <> '') SELECT s FROM parts WHERE s <> ''

WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM a, b

WITH a AS (SELECT region, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY region) SELECT region FROM a WHERE n = (SELECT max(n) FROM a)

WITH s AS (SELECT * FROM aws.apigatewayv2_stage) SELECT s.stage_name FROM s WHERE s._key IN (SELECT _key FROM s WHERE region = 'us-east-1')

WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n * 2 FROM t WHERE n < 1000) SELECT max(n), count(*) FROM t

WITH x AS (SELECT 'a' AS v UNION ALL SELECT 'b') SELECT string_agg(v, '' ORDER BY v) FROM x

WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT r1.n, r2.n FROM r r1 CROSS JOIN r r2 ORDER BY 1, 2

WITH t(a, b) AS (SELECT region, count(*) FROM aws.apigatewayv2_stage GROUP BY 1) SELECT * FROM t ORDER BY a

WITH RECURSIVE r(n, total) AS (SELECT 1, 0::bigint UNION ALL SELECT n + 1, total + n FROM r WHERE n < 5) SELECT * FROM r

WITH RECURSIVE r(n) AS (SELECT count(*)::int FROM aws.apigatewayv2_stage UNION ALL SELECT n - 10 FROM r WHERE n > 10) SELECT * FROM r

WITH RECURSIVE r(d, c) AS (SELECT min(created_date), count(*) FROM aws.apigatewayv2_stage UNION ALL SELECT d + interval '1 day', c FROM r WHERE d < (SELECT min(created_date) FROM aws.apigatewayv2_stage) + interval '3 days') SELECT * FROM r

WITH c AS (SELECT 1, 1, region, region FROM aws.apigatewayv2_stage) SELECT * FROM c ORDER BY 3 LIMIT 3

WITH c AS (SELECT count(*), max(stage_name), max(region) FROM aws.apigatewayv2_stage) SELECT c.* FROM c

WITH c AS (SELECT 1 AS v, 2 AS v) SELECT v FROM c
