-- ORDER BY (NULLS FIRST/LAST, expressions, ordinals), LIMIT, OFFSET, FETCH FIRST.

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key DESC

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 5

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 5 OFFSET 10

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key OFFSET 45

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 0

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT ALL

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key FETCH FIRST 3 ROWS ONLY

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key OFFSET 2 ROWS FETCH NEXT 2 ROWS ONLY

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key FETCH FIRST ROW ONLY

SELECT _key, description FROM aws.apigatewayv2_stage ORDER BY description, _key

SELECT _key, description FROM aws.apigatewayv2_stage ORDER BY description DESC, _key

SELECT _key, description FROM aws.apigatewayv2_stage ORDER BY description NULLS FIRST, _key

SELECT _key, description FROM aws.apigatewayv2_stage ORDER BY description DESC NULLS LAST, _key

SELECT _key, auto_deploy FROM aws.apigatewayv2_stage ORDER BY auto_deploy, _key

SELECT _key, created_date FROM aws.apigatewayv2_stage ORDER BY created_date DESC, _key LIMIT 7

SELECT _key, stage_name FROM aws.apigatewayv2_stage ORDER BY length(stage_name), stage_name, _key

SELECT _key, stage_name FROM aws.apigatewayv2_stage ORDER BY 2, 1

SELECT stage_name AS s, _key FROM aws.apigatewayv2_stage ORDER BY s, _key

SELECT _key FROM aws.apigatewayv2_stage ORDER BY region, account_id DESC, _key

SELECT _key, stage_variables FROM aws.apigatewayv2_stage ORDER BY stage_variables IS NULL, _key

SELECT _key FROM aws.apigatewayv2_stage ORDER BY last_updated_date - created_date, _key

SELECT _key FROM aws.apigatewayv2_stage ORDER BY CASE WHEN stage_name = 'prod' THEN 0 ELSE 1 END, _key

SELECT region, count(*) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY count(*) DESC, region LIMIT 2

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key COLLATE "C"

SELECT stage_name FROM aws.apigatewayv2_stage ORDER BY stage_name USING <

SELECT x FROM (VALUES ('b'), ('B'), ('a'), ('_'), ('A'), ('1')) v(x) ORDER BY x

SELECT x FROM (VALUES (1.5), (-2), (NULL), (0)) v(x) ORDER BY x

SELECT x FROM (VALUES (1.5::float8), ('NaN'), ('-Infinity'), ('Infinity'), (0)) v(x) ORDER BY x

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3 OFFSET 0

SELECT * FROM (SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key DESC LIMIT 5) t ORDER BY _key

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT (SELECT 2)

SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key LIMIT NULL

SELECT _key FROM aws.apigatewayv2_stage ORDER BY created_date DESC, _key FETCH NEXT 4 ROWS ONLY

SELECT stage_name, region r FROM aws.apigatewayv2_stage ORDER BY CASE WHEN upper(region) IN (SELECT upper(region) FROM aws.apigatewayv2_stage WHERE auto_deploy) THEN 0 ELSE 1 END, r DESC, 1 LIMIT 6

SELECT region, count(*) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY (SELECT count(*) FROM aws.apigatewayv2_stage WHERE auto_deploy) + count(*) DESC, 1

SELECT _key FROM aws.apigatewayv2_stage ORDER BY EXISTS (SELECT 1 FROM aws.apigatewayv2_stage s WHERE s.stage_name = 'nope'), 1 LIMIT 2 OFFSET 1

-- An ORDER BY over a subquery's LIMIT with OFFSET keeps all the limit's rows (DataFusion's sort
-- pushdown below the limit kept only `fetch` rows, not `skip + fetch`).
SELECT x FROM (SELECT * FROM (VALUES (1::int4), (2::int4), (3::int4), (4::int4), (5::int4), (6::int4)) t(x) LIMIT 3 OFFSET 2) s ORDER BY x

SELECT x FROM (SELECT x FROM (VALUES ('f'), ('e'), ('d'), ('c'), ('b'), ('a')) t(x) OFFSET 1 LIMIT 4) s ORDER BY x DESC

SELECT _key FROM (SELECT _key, description FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 4 OFFSET 6) s ORDER BY description NULLS FIRST, _key

-- A subquery's LIMIT without ORDER BY keeps the first rows it reads; an ORDER BY above sorts
-- those rows, it does not choose them (DataFusion pushed the sort below the limit as a TopK,
-- keeping the smallest rows instead).
SELECT x FROM (SELECT x FROM (VALUES (3::int4), (1::int4), (2::int4), (5::int4), (4::int4)) t(x) LIMIT 2) s ORDER BY x

SELECT x FROM (SELECT x FROM (VALUES ('c'), ('a'), ('e'), ('b'), ('d')) t(x) LIMIT 2 OFFSET 1) s ORDER BY x DESC

SELECT _key FROM (SELECT _key FROM aws.apigatewayv2_stage LIMIT 4) s ORDER BY _key

SELECT stage_name, _key FROM (SELECT * FROM aws.apigatewayv2_stage OFFSET 2 LIMIT 5) s ORDER BY stage_name, _key
