-- DBeaver 24/25 (pgjdbc) navigator and editor queries, replayed through pgjdbc by
-- ClientCheck.java. Reconstructed from DBeaver's PostgreSQL plugin; bind values inlined
-- (16384 = schema aws, 16386 = aws.apigatewayv2_stage). Star expansion must give every real
-- catalog column, because DBeaver reads them by name.

--@ set application_name
SET application_name = 'DBeaver 25.0.0 - Main <stagesql>'

--@ current schema and user
--@? rows=1
--@? contains=public|stagesql
SELECT current_schema(),session_user

--@ search_path
--@? rows=1
SHOW search_path

--@ version
--@? rows=1
SELECT version()

--@ databases
--@? rows=1
--@? contains=16383|16383|stagesql
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datallowconn AND NOT datistemplate OR db.datname = 'stagesql' ORDER BY db.datname

--@ settings
SELECT * FROM pg_catalog.pg_settings WHERE name IN ('max_index_keys', 'standard_conforming_strings', 'server_version_num')

--@ schemas with descriptions
--@? contains=16384|16384|aws
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
ORDER BY nspname

--@ tables of schema aws
--@? rows=2
--@? contains=16386|16386|apigatewayv2_stage|16384
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.relpartbound is not null then 1 else 0 end as is_partition
FROM pg_catalog.pg_class c
left outer join pg_catalog.pg_class t on c.reltoastrelid=t.oid
left outer join pg_catalog.pg_class rt on rt.oid=c.reloftype
left outer join pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=16384 AND c.relkind not in ('c')

--@ columns of the table
--@? rows=19
--@? contains=apigatewayv2_stage|16386|_key|25
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=16386
ORDER BY a.attnum

--@ data types
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (t.typcategory IS NULL OR t.typcategory <> 'A')

--@ constraints
--@? rows=1
--@? contains=16391|16391|apigatewayv2_stage_pkey
SELECT c.oid,c.*,t.relname as tabrelname,case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
WHERE t.relnamespace=16384 AND c.conrelid=16386
ORDER BY c.oid

--@ indexes
--@? rows=1
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,
pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,
pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,
pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,
pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE i.indrelid=16386 ORDER BY tabrelname, c.relname

--@ enums, access methods, extensions, inheritance
SELECT e.oid,e.* FROM pg_catalog.pg_enum e ORDER BY e.oid;
SELECT am.oid,am.* FROM pg_catalog.pg_am am;
SELECT e.oid,e.*,n.nspname FROM pg_catalog.pg_extension e LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace;
SELECT i.*,c.relnamespace FROM pg_catalog.pg_inherits i,pg_catalog.pg_class c WHERE i.inhrelid=16386 AND c.oid=i.inhparent ORDER BY i.inhseqno

--@ table statistics
--@? rows=1
SELECT pg_catalog.pg_total_relation_size(16386), pg_catalog.pg_relation_size(16386), pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(16386))

--@ conversions, tablespaces, roles, collations
SELECT c.oid,c.* FROM pg_catalog.pg_conversion c;
SELECT t.oid,t.* FROM pg_catalog.pg_tablespace t;
SELECT a.oid,a.* FROM pg_catalog.pg_roles a ORDER BY a.rolname;
SELECT c.oid,c.* FROM pg_catalog.pg_collation c

--@ data editor: the table's rows
--@? rows=50
SELECT x.* FROM aws.apigatewayv2_stage x LIMIT 200

--@ keywords
SELECT string_agg(word, ',') FROM pg_catalog.pg_get_keywords() WHERE word <> ALL ('{a,abs,absolute,action}'::text[])
