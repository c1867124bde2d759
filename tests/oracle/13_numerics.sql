-- Casts and numerics: literal types, integer overflow, division, rounding, numeric scale,
-- float output, text casts, arrays.

SELECT 0.1 + 0.2

SELECT 0.1::float8 + 0.2::float8

SELECT 1.50, 1.5::numeric(10, 3), 2.0 * 3

SELECT 7 / 2, 7 % 3, -7 / 2, -7 % 3

SELECT 7.0 / 2, 7 / 2.0, 1 / 3.0

SELECT 10::numeric / 4, 1::numeric / 3

SELECT 2 ^ 10, 2.0 ^ 0.5

SELECT round(2.5::float8), round(3.5::float8), round(-2.5::float8)

SELECT round(2.5), round(3.5), round(-2.5), round(2.567, 2)

SELECT round(1234.5678, -2), trunc(2.789, 1), trunc(-2.789)

SELECT ceil(2.1), floor(-2.1), ceiling(2.0)

SELECT abs(-5), abs(-5.5), sign(-3), sign(0.0), sign(2.5::float8)

SELECT sqrt(2), cbrt(27), exp(1), ln(10), log(100), log(2, 8)

SELECT pi(), degrees(pi()), radians(180)

SELECT 2147483647 + 1

SELECT 2147483647::int4 * 2

SELECT 9223372036854775807 + 1

SELECT -2147483648::int4

SELECT (-2147483648)::int4 / -1

SELECT 32767::int2 + 1::int2

SELECT 1 / 0

SELECT 1.0 / 0

SELECT 1::float8 / 0

SELECT 1 % 0

SELECT 0.0 / 0.0

SELECT 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float8

SELECT 'NaN'::numeric

SELECT 1e3, 1.5e-3, 1E10

SELECT '1e3'::numeric, '1.5e2'::float8, ' 42 '::int

SELECT '12abc'::int

SELECT ''::int

SELECT '3.7'::int

SELECT 3.7::int, 2.5::int, -2.5::int, 3.5::int

SELECT 3.7::float8::int, 2.5::float8::int, (-2.5)::float8::int

SELECT '99999999999'::int

SELECT 123.456::numeric(5, 2)

SELECT 123456.7::numeric(5, 2)

SELECT 1.0::float8 / 3, 1::float4 / 3

SELECT 100000000000000000000.0::float8, 1e-7::float8, 123456789012345678::float8

SELECT 0.1::float4, 0.1::float4::float8

SELECT 12345678.9::float4

SELECT '0.1'::numeric + '0.2'::numeric

SELECT avg(x) FROM (VALUES (1), (2), (2)) v(x)

SELECT avg(x) FROM (VALUES (1.5), (2.25)) v(x)

SELECT sum(x), avg(x) FROM (VALUES (1::bigint), (2)) v(x)

SELECT sum(x) FROM (VALUES (9223372036854775807::bigint), (1)) v(x)

SELECT 5::numeric, 5.000::numeric, 5.10 + 0

SELECT true::int, 1::boolean, 'yes'::boolean, 'off'::boolean, 't'::boolean

SELECT 'maybe'::boolean

SELECT 42::text, 4.2::text, true::text, NULL::text

SELECT CAST(created_date AS date), CAST(auto_deploy AS text) FROM aws.apigatewayv2_stage

SELECT length(stage_name)::numeric / 3 FROM aws.apigatewayv2_stage

SELECT '{a,"x y",c}'::text[]

SELECT '{1,2,3}'::int[], ARRAY[1, 2] || 3

SELECT ('{a,b,c}'::text[])[2], ('{a,b,c}'::text[])[5]

SELECT array_length('{}'::text[], 1), cardinality('{a,b}'::text[])

SELECT ARRAY[1, 2, 3] @> ARRAY[2], ARRAY[1, 2] && ARRAY[3]

SELECT unnest(ARRAY['x', 'y', 'z'])

SELECT array_position(ARRAY['a', 'b'], 'b'), array_remove(ARRAY[1, 2, 1], 1)

SELECT greatest(1, 5, 3), least('b', 'a', 'c'), greatest(NULL, 1)

SELECT coalesce(NULL, NULL, 3), nullif(5, 5), nullif(5, 6)

SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END, CASE 3 WHEN 1 THEN 'one' ELSE 'other' END

SELECT 10 BETWEEN 1 AND 20, 5 IN (1, 2, NULL), 5 NOT IN (1, 2, NULL)

SELECT 1 = 1.0, 1::int2 = 1::int8, '1'::text = 1::text

SELECT generate_series(1, 5), generate_series(1, 10, 3)

SELECT count(*) FROM generate_series(1, 100) g WHERE g % 7 = 0

SELECT width_bucket(5.35, 0.024, 10.06, 5), gcd(12, 18), lcm(4, 6)

SELECT factorial(5), mod(-7, 3), div(7, 2)

SELECT 1::money

SELECT x::numeric(6, 2) FROM (VALUES (1), (2.345), (-0.005)) v(x)

SELECT scale(1.2300), trim_scale(1.2300)

SELECT 255::bit(8), B'1010' | B'0101'

SELECT 'a'::char(3) || 'b', length('a  '::char(3))

SELECT 'ab'::varchar(1), 'xyz'::character varying(2), 'abc'::varchar(5), 'f'::char, 'fg'::char(1)

SELECT stage_name::varchar(3) AS short, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT sqrt(4), power(-8, 3), ln(1), log(1000), log(0.001::float8), log10(100)

SELECT (-7)::int2 * 5000::int2

SELECT 9223372036854775807::bigint * 2

SELECT 5.5::numeric % 0

SELECT (-3.5)::int, 4.5::float4::int, '2.5'::float8::bigint

SELECT pg_typeof(1), pg_typeof(-2147483648), pg_typeof(2147483648), pg_typeof(1 + 1), 2147483647::bigint + 1

SELECT -2147483648 - 1

SELECT ' +.5 '::numeric, '5.'::numeric, '-1.50E-1'::numeric, '12'::numeric(5, 1)

SELECT region, every(auto_deploy), variance(length(stage_name)) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY region

SELECT width_bucket(length(stage_name), 0, 10, 5) AS b, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT width_bucket(-1, 0, 10, 4), width_bucket(10, 0, 10, 4), width_bucket(9, 10, 0, 4), width_bucket(5.0::float8, 0, 10, 4)

SELECT width_bucket(1, 0, 0, 4)

SELECT width_bucket(1, 0, 2, 0)

SELECT gcd(-12, 18), gcd(0, 0), lcm(0, 5), gcd(12::bigint, 18)

SELECT lcm(2147483647, 2)

SELECT sign(-3) AS a, sign(length(stage_name) - 5) AS b FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT ARRAY[1, NULL] @> ARRAY[NULL::int], ARRAY[1, 2] @> ARRAY[]::int[], ARRAY[1, 2] <@ ARRAY[2, 1, 3], ARRAY[NULL::int] && ARRAY[NULL::int], ARRAY[1, 2] && ARRAY[2, 5]

SELECT akeys(tags) && ARRAY['env', 'team'] AS tagged, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT count(*) FROM aws.apigatewayv2_stage WHERE akeys(tags) @> '{env,owner}'

SELECT mod(-7, 3), mod(7.5, 2), mod(length(stage_name), 3) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT mod(1, 0)

SELECT 1.5 / 7, 1 / 3.0, -2 / 3.0, 2 / 3.0, 100 / 7.0

SELECT 2.5 / 0.5, 5::numeric / 3, 123456789012::numeric / 7, 1.23456 / 1

SELECT 50 / 1000000.0, 0 / 4.0

SELECT 1 / 30000.0

SELECT 1 / 0.0

SELECT 1::float4 / 3, 1.5::float4 * 3, 0.1::float4 = 0.1, 0.1::float4 = 0.1::float4, 2::float4 + 1.25, pg_typeof(1::float4 + 1)

-- Integer literals are integer in every column a query defines, not only the outermost:
-- through derived tables, CTEs, VALUES and set operations, with integer overflow.
SELECT x, x::text FROM (SELECT 1 AS x) s

SELECT * FROM (VALUES (1), (3000000000)) v(x)

SELECT x + 1 FROM (VALUES (2147483647)) v(x)

SELECT x * 2 FROM (SELECT 1500000000 AS x) s

WITH c AS (SELECT 2 AS two, -3 AS m, 4 * 5 AS p) SELECT two, m, p, two * p FROM c

SELECT y, count(*) FROM (SELECT CASE WHEN _key > 'arn:aws:apigateway:m' THEN 1 ELSE 2 END AS y FROM aws.apigatewayv2_stage) s GROUP BY y ORDER BY y

SELECT x FROM (SELECT 1 UNION ALL SELECT 2::bigint) s(x) ORDER BY x

SELECT n FROM (VALUES (NULL), (7)) v(n) ORDER BY n

SELECT 1.5::float(24), 1.5::float(53), 1.5::float, 2.5::decimal(4,1), '{1,2}'::bigint[], ('{1,2}'::int[])[1]

SELECT 0.1::float * 3, 0.1::float(24) * 3, float '0.3' / 3, '{0.1,0.2}'::float[], 1::float(0)

SELECT 1::float(54)

SELECT 1::int2, 1::int8, 2::float4::float8

SELECT created_date::date, created_date::text, length(stage_name)::int8, length(stage_name)::int2 FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2
