-- Every subquery form: scalar (correlated or not, ordered, several rows), IN, NOT IN, ANY/ALL,
-- EXISTS, derived tables, LATERAL.

SELECT (SELECT count(*) FROM aws.apigatewayv2_stage)

SELECT (SELECT _key FROM aws.apigatewayv2_stage ORDER BY created_date, _key LIMIT 1)

SELECT (SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key DESC LIMIT 1)

SELECT (SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 1 OFFSET 3)

SELECT (SELECT _key FROM aws.apigatewayv2_stage)

SELECT (SELECT _key FROM aws.apigatewayv2_stage WHERE false)

SELECT (SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = 'nope' LIMIT 1) IS NULL

SELECT _key, (SELECT count(*) FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id) FROM aws.apigatewayv2_stage s

SELECT _key, (SELECT max(t.created_date) FROM aws.apigatewayv2_stage t WHERE t.region = s.region) FROM aws.apigatewayv2_stage s

SELECT _key, (SELECT t._key FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id ORDER BY t._key LIMIT 1) FROM aws.apigatewayv2_stage s

SELECT _key, (SELECT t.stage_name FROM aws.apigatewayv2_stage t WHERE t._key = s._key) FROM aws.apigatewayv2_stage s

SELECT _key FROM aws.apigatewayv2_stage s WHERE created_date = (SELECT max(created_date) FROM aws.apigatewayv2_stage)

SELECT _key FROM aws.apigatewayv2_stage s WHERE created_date = (SELECT max(t.created_date) FROM aws.apigatewayv2_stage t WHERE t.region = s.region)

SELECT _key FROM aws.apigatewayv2_stage WHERE _key IN (SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = 'prod')

SELECT _key FROM aws.apigatewayv2_stage WHERE _key NOT IN (SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = 'prod')

SELECT count(*) FROM aws.apigatewayv2_stage WHERE description NOT IN (SELECT description FROM aws.apigatewayv2_stage)

SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_name NOT IN (SELECT description FROM aws.apigatewayv2_stage)

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = ANY (SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE api_id = ANY (SELECT api_id FROM aws.apigatewayv2_stage WHERE stage_name = 'prod')

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date > ALL (SELECT created_date FROM aws.apigatewayv2_stage WHERE region = 'us-east-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date >= ANY (SELECT max(created_date) FROM aws.apigatewayv2_stage)

SELECT _key FROM aws.apigatewayv2_stage WHERE length(stage_name) < ALL (SELECT length(stage_name) FROM aws.apigatewayv2_stage WHERE stage_name LIKE 'p%')

SELECT _key FROM aws.apigatewayv2_stage s WHERE EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'prod')

SELECT _key FROM aws.apigatewayv2_stage s WHERE NOT EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key < s._key)

SELECT EXISTS (SELECT 1 FROM aws.apigatewayv2_stage WHERE stage_name = 'prod')

SELECT _key, EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'prod') FROM aws.apigatewayv2_stage s

SELECT _key, CASE WHEN EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'dev') THEN 'has dev' ELSE 'no dev' END FROM aws.apigatewayv2_stage s

SELECT _key, s._key IN (SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy) FROM aws.apigatewayv2_stage s

SELECT region, n FROM (SELECT region, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY region) t WHERE n > 1

SELECT t.* FROM (SELECT _key, stage_name FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3) t

SELECT * FROM (SELECT * FROM (SELECT _key, region FROM aws.apigatewayv2_stage) a WHERE region = 'us-east-1') b

SELECT s._key, l.n FROM aws.apigatewayv2_stage s, LATERAL (SELECT count(*) AS n FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id) l

SELECT s._key, l._key FROM aws.apigatewayv2_stage s CROSS JOIN LATERAL (SELECT t._key FROM aws.apigatewayv2_stage t WHERE t.region = s.region ORDER BY t._key LIMIT 1) l

SELECT s._key, l._key FROM aws.apigatewayv2_stage s LEFT JOIN LATERAL (SELECT t._key FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key > s._key ORDER BY t._key LIMIT 1) l ON true

SELECT count(*) FROM aws.apigatewayv2_stage WHERE (account_id, region) IN (SELECT account_id, region FROM aws.apigatewayv2_stage WHERE stage_name = 'prod')

SELECT max(n) FROM (SELECT api_id, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY api_id) t

SELECT (SELECT count(*) FROM aws.apigatewayv2_stage WHERE auto_deploy) * 100 / (SELECT count(*) FROM aws.apigatewayv2_stage)

SELECT _key FROM aws.apigatewayv2_stage WHERE _key = (SELECT min(_key) FROM aws.apigatewayv2_stage) OR _key = (SELECT max(_key) FROM aws.apigatewayv2_stage)

SELECT ARRAY(SELECT DISTINCT region FROM aws.apigatewayv2_stage ORDER BY region)

SELECT _key FROM aws.apigatewayv2_stage WHERE _key IN (SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2)

SELECT (SELECT description FROM aws.apigatewayv2_stage WHERE description IS NULL)

SELECT (SELECT stage_name FROM aws.apigatewayv2_stage GROUP BY stage_name ORDER BY count(*) DESC, stage_name LIMIT 1)

SELECT ARRAY(SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'nowhere')

SELECT ARRAY(SELECT DISTINCT region FROM aws.apigatewayv2_stage ORDER BY 1)

SELECT ARRAY(SELECT stage_name AS n FROM aws.apigatewayv2_stage WHERE region = 'us-east-1' ORDER BY n DESC)

SELECT (SELECT count(*) FROM pg_catalog.pg_policy)

WITH t(indkey) AS (SELECT ARRAY[10, 20]) SELECT indkey[1] FROM t

SELECT _key, CASE WHEN NOT EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'dev') THEN 'no dev' ELSE 'dev' END FROM aws.apigatewayv2_stage s

SELECT s.region, s.description IN (SELECT t.description FROM aws.apigatewayv2_stage t WHERE t.region = 'eu-west-1') FROM aws.apigatewayv2_stage s

SELECT s.description NOT IN (SELECT t.description FROM aws.apigatewayv2_stage t WHERE t.region = 'nowhere') FROM aws.apigatewayv2_stage s

SELECT 'x' IN (SELECT description FROM aws.apigatewayv2_stage), NULL::text IN (SELECT description FROM aws.apigatewayv2_stage WHERE false)

SELECT s._key, s.api_id IN (SELECT t.api_id FROM aws.apigatewayv2_stage t WHERE t.stage_name = 'prod' AND t._key <> s._key) FROM aws.apigatewayv2_stage s

SELECT count(*) FROM aws.apigatewayv2_stage s WHERE (s.region, s.stage_name) IN (SELECT t.region, 'prod' FROM aws.apigatewayv2_stage t WHERE t.auto_deploy)

SELECT count(*) FROM aws.apigatewayv2_stage WHERE (description, region) IN (SELECT description, region FROM aws.apigatewayv2_stage)

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy AND (api_id, 'prod') IN (SELECT api_id, stage_name FROM aws.apigatewayv2_stage t) ORDER BY 1

SELECT s.api_id, l.stage_name, l.created_date FROM (SELECT DISTINCT api_id FROM aws.apigatewayv2_stage) s, LATERAL (SELECT t.stage_name, t.created_date FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id ORDER BY t.created_date DESC, t._key LIMIT 2) l ORDER BY 1, 3 DESC, 2

SELECT s._key, l.n FROM aws.apigatewayv2_stage s LEFT JOIN LATERAL (SELECT t.stage_name AS n FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'dev' LIMIT 1) l ON true

SELECT s._key, (SELECT t.created_date FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t.stage_name = 'dev' LIMIT 1) AS d, (SELECT t.stage_name FROM aws.apigatewayv2_stage t WHERE t.region = s.region ORDER BY t.created_date DESC, t._key LIMIT 1) FROM aws.apigatewayv2_stage s

SELECT _key, upper(region) IN (SELECT upper(region) FROM aws.apigatewayv2_stage WHERE auto_deploy), lower(stage_name) NOT IN (SELECT stage_name FROM aws.apigatewayv2_stage ORDER BY 1 LIMIT 2) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, region || '' IN (SELECT NULL::text UNION ALL SELECT 'us-east-1') FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 6

SELECT s._key, (SELECT count(*) FROM aws.apigatewayv2_stage t WHERE t._key < s._key) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.created_date > s.created_date AND t.region = s.region) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, s.stage_name IN (SELECT t.stage_name FROM aws.apigatewayv2_stage t WHERE t._key > s._key) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, s.description NOT IN (SELECT t.description FROM aws.apigatewayv2_stage t WHERE t._key <> s._key AND t.api_id = s.api_id) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, CASE WHEN s.auto_deploy THEN (SELECT max(t.created_date) FROM aws.apigatewayv2_stage t WHERE t.created_date < s.created_date) END FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, unnest((SELECT array_agg(t.stage_name ORDER BY t.stage_name) FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key <> s._key)) FROM aws.apigatewayv2_stage s ORDER BY 1, 2

SELECT s._key, (SELECT count(*) FROM (SELECT unnest(akeys(s.tags)) AS k) x WHERE x.k <> 'env') FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, (WITH RECURSIVE r(n) AS (SELECT length(s.stage_name) UNION ALL SELECT n - 1 FROM r WHERE n > 1) SELECT count(*) FROM r) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT (SELECT t._key FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key <> s._key) FROM aws.apigatewayv2_stage s

SELECT s._key FROM aws.apigatewayv2_stage s WHERE (SELECT count(*) FROM aws.apigatewayv2_stage t WHERE t.created_date <= s.created_date) <= 3 ORDER BY 1

SELECT s.region, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key > s._key)) FROM aws.apigatewayv2_stage s GROUP BY 1 ORDER BY 1

SELECT s.stage_name, (SELECT count(*) FROM aws.apigatewayv2_stage t WHERE t._key < s._key) AS before, s.region IN (SELECT t.region FROM aws.apigatewayv2_stage t WHERE t.created_date > s.created_date) AS later_here FROM aws.apigatewayv2_stage s ORDER BY s._key LIMIT 8

SELECT s._key, (SELECT array_agg(x ORDER BY x) FROM (SELECT unnest(ARRAY[s.stage_name, s.region, (SELECT min(t.region) FROM aws.apigatewayv2_stage t WHERE t._key > s._key)]) AS x) y) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT n, ARRAY[n, n * 2], ARRAY[(SELECT max(m) FROM (VALUES (1), (2)) t(m) WHERE m <= n)] FROM (VALUES (1), (2)) s(n) ORDER BY 1

SELECT s._key, (SELECT coalesce(sum(length(t.stage_name)), 0) + 1 FROM aws.apigatewayv2_stage t WHERE t.api_id = s.api_id AND t._key < s._key), (SELECT count(*) * 2 FROM aws.apigatewayv2_stage t WHERE t.region = s.region) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT n, (SELECT max(s.n) + o.n FROM (VALUES (5)) s(n)) FROM (VALUES (1), (2)) o(n) ORDER BY 1

SELECT s._key, (SELECT string_agg(k, ',' ORDER BY k) FROM unnest(akeys(s.tags)) AS k(k)) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT s._key, (SELECT count(*) FROM unnest(ARRAY[s.stage_name, s.region, 'prod']) AS u(v) WHERE v <> s.stage_name) FROM aws.apigatewayv2_stage s ORDER BY 1

SELECT * FROM (SELECT 1, 1) s

SELECT s.* FROM (SELECT 1, 2, 'x') s

SELECT * FROM (SELECT stage_name, stage_name, upper(stage_name), upper(stage_name) FROM aws.apigatewayv2_stage) s ORDER BY 1, 2

SELECT * FROM (SELECT region, count(*), count(*) FILTER (WHERE auto_deploy) FROM aws.apigatewayv2_stage GROUP BY region) AS virtual_table ORDER BY 1 LIMIT 1000

SELECT * FROM (SELECT a.stage_name, b.stage_name FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b USING (_key)) s ORDER BY 1

SELECT "?column?" FROM (SELECT 1) s

SELECT "?column?" FROM (SELECT 1, 2) s

SELECT count FROM (SELECT count(*), count(*) FROM aws.apigatewayv2_stage) s

SELECT stage_name FROM (SELECT stage_name, stage_name FROM aws.apigatewayv2_stage) s

SELECT s.x FROM (SELECT 1 AS x, 2 AS X) s

SELECT n FROM (SELECT 1 AS n, 2 AS "N") s
