-- GROUPING SETS, ROLLUP, CUBE and grouping().

SELECT account_id, region, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (account_id, region)

SELECT account_id, region, count(*) FROM aws.apigatewayv2_stage GROUP BY CUBE (account_id, region)

SELECT account_id, region, count(*) FROM aws.apigatewayv2_stage GROUP BY GROUPING SETS ((account_id), (region), ())

SELECT account_id, count(*) FROM aws.apigatewayv2_stage GROUP BY GROUPING SETS ((account_id), ())

SELECT region, stage_name, count(*), grouping(region, stage_name) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (region, stage_name)

SELECT region, grouping(region) AS g, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (region) ORDER BY g, region

SELECT coalesce(region, 'all') AS region, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (region)

SELECT account_id, region, stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (account_id, region, stage_name)

SELECT account_id, auto_deploy, count(*) FROM aws.apigatewayv2_stage GROUP BY CUBE (account_id, auto_deploy)

SELECT region, count(*) FROM aws.apigatewayv2_stage GROUP BY GROUPING SETS ((region), (region))

SELECT region, count(*) FROM aws.apigatewayv2_stage GROUP BY region, ROLLUP (stage_name)

SELECT account_id, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (account_id) HAVING count(*) > 10

SELECT date_trunc('month', created_date), region, count(*) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (1, 2)

SELECT region, string_agg(stage_name, ',' ORDER BY _key) FROM aws.apigatewayv2_stage GROUP BY ROLLUP (region)

SELECT count(*) FROM aws.apigatewayv2_stage GROUP BY ()

SELECT account_id, region, min(created_date) FROM aws.apigatewayv2_stage GROUP BY GROUPING SETS (account_id, region)

SELECT DISTINCT region FROM aws.apigatewayv2_stage

SELECT DISTINCT account_id, region FROM aws.apigatewayv2_stage

SELECT DISTINCT ON (region) region, _key FROM aws.apigatewayv2_stage ORDER BY region, _key

SELECT DISTINCT ON (account_id) account_id, stage_name, created_date FROM aws.apigatewayv2_stage ORDER BY account_id, created_date DESC, _key

SELECT region, count(DISTINCT stage_name) FROM aws.apigatewayv2_stage GROUP BY region

SELECT lower(region), count(*) FROM aws.apigatewayv2_stage GROUP BY lower(region)

SELECT split_part(region, '-', 1) AS geo, count(*) FROM aws.apigatewayv2_stage GROUP BY geo

SELECT auto_deploy, count(*) FROM aws.apigatewayv2_stage GROUP BY auto_deploy

SELECT description, count(*) FROM aws.apigatewayv2_stage GROUP BY description

SELECT s._key, k FROM aws.apigatewayv2_stage s, skeys(s.tags) k ORDER BY 2 DESC, 1 LIMIT 7

SELECT region, stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY CUBE (1, 2) ORDER BY 1, 2

SELECT region, auto_deploy, count(*) FROM aws.apigatewayv2_stage GROUP BY GROUPING SETS ((1), (2), ()) ORDER BY 1, 2

SELECT s._key, default_route_settings, tags -> 'env', count(*) FROM aws.apigatewayv2_stage s GROUP BY 1 ORDER BY stage_name, 1

SELECT _key, upper(region) AS r FROM aws.apigatewayv2_stage GROUP BY _key HAVING region <> 'eu-west-1' ORDER BY 1

SELECT _key, CASE WHEN region = 'eu-west-1' THEN 'a' ELSE 'z' END AS region FROM aws.apigatewayv2_stage GROUP BY _key ORDER BY region, 1
