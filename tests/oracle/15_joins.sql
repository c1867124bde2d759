-- Joins: inner, outer, self, using, natural, cross, on expressions.

SELECT a._key, b._key FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b ON a.api_id = b.api_id AND a._key < b._key

SELECT a._key, b._key FROM aws.apigatewayv2_stage a LEFT JOIN aws.apigatewayv2_stage b ON a.api_id = b.api_id AND b.stage_name = 'nope'

SELECT a._key, b._key FROM aws.apigatewayv2_stage a RIGHT JOIN aws.apigatewayv2_stage b ON a._key = b._key AND a.stage_name = 'prod'

SELECT count(*) FROM aws.apigatewayv2_stage a FULL JOIN aws.apigatewayv2_stage b ON a._key = b._key AND a.auto_deploy

SELECT count(*) FROM aws.apigatewayv2_stage a CROSS JOIN aws.apigatewayv2_stage b

SELECT count(*) FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b USING (api_id)

SELECT api_id, count(*) FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b USING (api_id) GROUP BY api_id

SELECT count(*) FROM aws.apigatewayv2_stage a NATURAL JOIN aws.apigatewayv2_stage b

SELECT s._key, v.label FROM aws.apigatewayv2_stage s JOIN (VALUES ('prod', 'production'), ('dev', 'development')) v(name, label) ON s.stage_name = v.name

SELECT s._key, v.label FROM aws.apigatewayv2_stage s LEFT JOIN (VALUES ('prod', 'production')) v(name, label) ON s.stage_name = v.name

SELECT a.region, count(DISTINCT b._key) FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b ON a.region = b.region GROUP BY a.region

SELECT count(*) FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b ON a.created_date < b.created_date

SELECT count(*) FROM aws.apigatewayv2_stage a JOIN aws.apigatewayv2_stage b ON a.stage_name = b.stage_name AND a.region <> b.region

SELECT a._key FROM aws.apigatewayv2_stage a LEFT JOIN aws.apigatewayv2_stage b ON a.api_id = b.api_id AND b.created_date > a.created_date WHERE b._key IS NULL

SELECT count(*) FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b WHERE a._key = b._key

SELECT s.stage_name, g FROM (SELECT stage_name, length(stage_name) AS n FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3) s, generate_series(1, s.n) g ORDER BY 1, 2

SELECT count(*), min(d), max(d) FROM aws.apigatewayv2_stage s CROSS JOIN LATERAL generate_series(s.created_date, s.created_date + interval '2 days', interval '1 day') d

SELECT c.relname, c.tableoid::regclass::text, d.description FROM pg_catalog.pg_class c JOIN pg_catalog.pg_description d ON d.classoid = c.tableoid AND d.objoid = c.oid AND d.objsubid = 0 WHERE c.relname = 'apigatewayv2_stage'

SELECT s.tableoid::regclass::text, count(*) FROM aws.apigatewayv2_stage s GROUP BY 1
