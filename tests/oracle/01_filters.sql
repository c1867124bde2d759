-- Filters: WHERE over every column type, NULL logic, LIKE, IN, BETWEEN, boolean tests.
-- One query per block; blocks are separated by blank lines. Rows compare as multisets unless
-- the outermost statement ends with ORDER BY.

SELECT _key FROM aws.apigatewayv2_stage WHERE account_id = '123456789012'

SELECT _key FROM aws.apigatewayv2_stage WHERE account_id <> '123456789012'

SELECT _key, stage_name FROM aws.apigatewayv2_stage WHERE stage_name = '$default'

SELECT _key FROM aws.apigatewayv2_stage WHERE region = 'us-east-1' AND stage_name = 'prod'

SELECT _key FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1' OR stage_name = 'dev'

SELECT _key FROM aws.apigatewayv2_stage WHERE NOT (region = 'us-east-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE region IN ('us-east-1', 'eu-west-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE region NOT IN ('us-east-1', 'eu-west-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE description IS NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE description IS NOT NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE client_certificate_id IS NULL AND deployment_id IS NOT NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy

SELECT _key FROM aws.apigatewayv2_stage WHERE NOT auto_deploy

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy IS TRUE

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy IS NOT TRUE

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy IS FALSE

SELECT _key FROM aws.apigatewayv2_stage WHERE api_gateway_managed IS UNKNOWN

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy = true AND api_gateway_managed = false

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name LIKE 'p%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name LIKE '%e%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name NOT LIKE '%e%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name ILIKE 'PROD%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name LIKE '$%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name LIKE '_ev'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_arn LIKE '%/stages/%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name ~ '^p'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name ~* '^P'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name !~ 'o'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name SIMILAR TO 'p%'

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name SIMILAR TO '(dev|prod)'

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date > '2026-01-02'

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date BETWEEN '2026-01-01' AND '2026-01-03'

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date NOT BETWEEN '2026-01-01' AND '2026-01-03'

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date >= timestamp '2026-01-02 09:00:00'

SELECT _key FROM aws.apigatewayv2_stage WHERE created_date < date '2026-01-02'

SELECT _key FROM aws.apigatewayv2_stage WHERE last_updated_date > created_date + interval '2 days'

SELECT _key FROM aws.apigatewayv2_stage WHERE now() - created_date > interval '30 days'

SELECT _key FROM aws.apigatewayv2_stage WHERE last_updated_date - created_date BETWEEN interval '1 day' AND interval '100 days'

SELECT _key FROM aws.apigatewayv2_stage WHERE last_updated_date - created_date > interval '24 hours'

SELECT _key FROM aws.apigatewayv2_stage WHERE coalesce(description, '') = ''

SELECT _key FROM aws.apigatewayv2_stage WHERE description IS DISTINCT FROM NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE description IS NOT DISTINCT FROM NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE auto_deploy IS DISTINCT FROM api_gateway_managed

SELECT _key FROM aws.apigatewayv2_stage WHERE length(stage_name) > 4

SELECT _key FROM aws.apigatewayv2_stage WHERE lower(stage_name) = 'prod'

SELECT _key FROM aws.apigatewayv2_stage WHERE account_id = ANY (ARRAY['123456789012', '210987654321'])

SELECT _key FROM aws.apigatewayv2_stage WHERE account_id = ANY ('{123456789012}'::text[])

SELECT _key FROM aws.apigatewayv2_stage WHERE region <> ALL (ARRAY['us-east-1'])

SELECT _key FROM aws.apigatewayv2_stage WHERE (region, stage_name) = ('us-east-1', 'prod')

SELECT _key FROM aws.apigatewayv2_stage WHERE (region, stage_name) IN (('us-east-1', 'prod'), ('eu-west-1', 'dev'))

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name IN (SELECT 'prod' UNION SELECT 'dev')

SELECT _key FROM aws.apigatewayv2_stage WHERE 1 = 0

SELECT _key FROM aws.apigatewayv2_stage WHERE NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_name = NULL

SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_name IN ('prod', NULL)

SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_name NOT IN ('prod', NULL)

SELECT _key FROM aws.apigatewayv2_stage WHERE CASE WHEN auto_deploy THEN stage_name = 'prod' ELSE false END

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_variables IS NOT NULL AND tags IS NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE route_settings IS NOT NULL

SELECT _key FROM aws.apigatewayv2_stage WHERE starts_with(stage_arn, 'arn:aws:apigateway:us-east-1')

SELECT _key FROM aws.apigatewayv2_stage WHERE position('prod' in stage_name) > 0

SELECT _key, CASE WHEN auto_deploy THEN '1' ELSE 0 END AS flag FROM aws.apigatewayv2_stage ORDER BY _key
