-- UNION, INTERSECT, EXCEPT with and without ALL; VALUES.

SELECT region FROM aws.apigatewayv2_stage UNION SELECT 'ap-south-1'

SELECT region FROM aws.apigatewayv2_stage UNION ALL SELECT region FROM aws.apigatewayv2_stage

SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'us-east-1' INTERSECT SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1'

SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'us-east-1' INTERSECT ALL SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1'

SELECT stage_name FROM aws.apigatewayv2_stage EXCEPT SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'us-east-1'

SELECT stage_name FROM aws.apigatewayv2_stage EXCEPT ALL SELECT stage_name FROM aws.apigatewayv2_stage WHERE region = 'us-east-1'

SELECT x FROM (VALUES (1), (1), (2), (3)) a(x) INTERSECT ALL SELECT x FROM (VALUES (1), (1), (1), (2)) b(x)

SELECT x FROM (VALUES (1), (1), (2), (3)) a(x) EXCEPT ALL SELECT x FROM (VALUES (1), (2)) b(x)

SELECT x FROM (VALUES (1), (1), (2), (3)) a(x) EXCEPT SELECT x FROM (VALUES (1)) b(x)

SELECT x FROM (VALUES (NULL::int), (NULL), (1)) a(x) UNION SELECT NULL

SELECT x FROM (VALUES (NULL::int), (NULL), (1)) a(x) INTERSECT SELECT NULL::int

SELECT region FROM aws.apigatewayv2_stage UNION SELECT stage_name FROM aws.apigatewayv2_stage ORDER BY 1

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = 'prod' UNION ALL SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = 'dev' ORDER BY 1 LIMIT 4

SELECT 1 UNION SELECT 2 INTERSECT SELECT 2

SELECT 1 EXCEPT SELECT 2 UNION SELECT 3

(SELECT 1 UNION SELECT 2) INTERSECT SELECT 2

SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'

SELECT 1 UNION SELECT 2.5

SELECT 'a' UNION SELECT 'b' UNION SELECT 'a'

SELECT count(*) FROM (SELECT region FROM aws.apigatewayv2_stage UNION SELECT region FROM aws.apigatewayv2_stage) u

SELECT * FROM (VALUES (1, 'one'), (2, 'two')) AS v(n, name)

VALUES (1, 'a'), (2, 'b')

SELECT created_date FROM aws.apigatewayv2_stage UNION SELECT last_updated_date FROM aws.apigatewayv2_stage

SELECT account_id, region FROM aws.apigatewayv2_stage EXCEPT SELECT account_id, 'us-east-1' FROM aws.apigatewayv2_stage

SELECT 1 UNION SELECT '01'

SELECT 1 AS n UNION ALL SELECT '2' UNION SELECT 3 ORDER BY 1

SELECT stage_name FROM aws.apigatewayv2_stage UNION SELECT 'zzz' ORDER BY 1 DESC LIMIT 3

SELECT true UNION SELECT 'yes'
