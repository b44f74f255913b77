-- The catalog snapshot query of guard/db/snapshot.py: one branch per object kind, each row
-- (kind, schema-qualified name, parent 'kind:name' or NULL, attributes as jsonb).
-- %(skip)s = schemas to leave out (the history schema); %(marker)s = the marker table as schema.table.
-- `user_ns` / `user_rel` keep out system schemas, extension members and excluded relations.
WITH user_ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname <> ALL(%(skip)s::text[])
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                    AND d.objid = n.oid AND d.deptype = 'e')
), ext_member AS (
  SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'
), user_rel AS (
  SELECT c.oid, c.relname, c.relkind, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(c.relname) AS qname,
         c.relrowsecurity, c.relforcerowsecurity, c.relpersistence, c.relispartition
  FROM pg_class c JOIN user_ns ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c', 'i', 'I')
    AND NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
    AND ns.nspname || '.' || c.relname <> %(marker)s
)
SELECT 'schema', quote_ident(nspname), NULL, '{}'::jsonb FROM user_ns
UNION ALL
SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
       ELSE 'table' END,
       qname, NULL,
       CASE WHEN relkind = 'v' THEN jsonb_build_object('definition', pg_get_viewdef(oid, true))
            WHEN relkind = 'm' THEN jsonb_build_object('definition', pg_get_viewdef(oid, true))
            ELSE jsonb_build_object('partitioned', relkind = 'p', 'unlogged', relpersistence = 'u',
                   'row_level_security', relrowsecurity, 'force_row_level_security', relforcerowsecurity,
                   'partition_of', (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
                                    || ' ' || pg_get_expr(r.relpartbound, r.oid)
                                    FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                                    JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                                    JOIN pg_class r ON r.oid = i.inhrelid
                                    WHERE i.inhrelid = user_rel.oid AND user_rel.relispartition)) END
FROM user_rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'column', r.qname || '.' || quote_ident(a.attname), 'table:' || r.qname,
       jsonb_build_object(
         'type', format_type(a.atttypid, a.atttypmod),
         'nullable', NOT a.attnotnull,
         'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
         'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
         'collation', CASE WHEN a.attcollation <> t.typcollation THEN
                        (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END,
         'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))
FROM user_rel r JOIN pg_attribute a ON a.attrelid = r.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'type', r.qname, NULL,
       jsonb_build_object('composite', (SELECT jsonb_agg(quote_ident(a.attname) || ' '
                                        || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                                        FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0
                                        AND NOT a.attisdropped))
FROM user_rel r WHERE r.relkind = 'c'
UNION ALL
SELECT 'constraint', r.qname || '.' || quote_ident(con.conname), 'table:' || r.qname,
       jsonb_build_object('definition', pg_get_constraintdef(con.oid, true), 'valid', con.convalidated)
FROM pg_constraint con JOIN user_rel r ON r.oid = con.conrelid
WHERE con.conislocal OR con.contype NOT IN ('c', 'n')
UNION ALL
SELECT 'index', quote_ident(r.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(r.relname),
       CASE WHEN t.relkind = 'm' THEN 'materialized view:' ELSE 'table:' END
         || quote_ident(r.nspname) || '.' || quote_ident(t.relname),
       jsonb_build_object('definition', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid)
FROM pg_index i JOIN user_rel r ON r.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'sequence', r.qname, CASE WHEN o.tbl IS NOT NULL THEN 'table:' || o.tbl END,
       jsonb_build_object('type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text,
         'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', s.seqmax::text,
         'cycle', s.seqcycle, 'cache', s.seqcache::text, 'owned_by', o.tbl || '.' || o.col)
FROM user_rel r JOIN pg_sequence s ON s.seqrelid = r.oid
LEFT JOIN LATERAL (
  SELECT quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) AS tbl, quote_ident(ta.attname) AS col
  FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
  JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
  WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype = 'a' LIMIT 1) o ON true
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = r.oid AND d.deptype = 'i')
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'range' END,
       quote_ident(ns.nspname) || '.' || quote_ident(t.typname), NULL,
       CASE t.typtype
         WHEN 'e' THEN jsonb_build_object('labels', (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder)
                                                     FROM pg_enum e WHERE e.enumtypid = t.oid))
         WHEN 'd' THEN jsonb_build_object('type', format_type(t.typbasetype, t.typtypmod),
                         'nullable', NOT t.typnotnull, 'default', t.typdefault,
                         'checks', (SELECT jsonb_agg(pg_get_constraintdef(c.oid, true) ORDER BY c.conname)
                                    FROM pg_constraint c WHERE c.contypid = t.oid))
         ELSE jsonb_build_object('subtype', (SELECT format_type(rngsubtype, NULL) FROM pg_range
                                             WHERE rngtypid = t.oid)) END
FROM pg_type t JOIN user_ns ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r')
  AND NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       quote_ident(ns.nspname) || '.' || quote_ident(p.proname)
         || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL,
       jsonb_build_object('definition', CASE WHEN p.prokind = 'a' THEN 'aggregate'
                                             ELSE pg_get_functiondef(p.oid) END)
FROM pg_proc p JOIN user_ns ns ON ns.oid = p.pronamespace
WHERE NOT EXISTS (SELECT 1 FROM ext_member e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
UNION ALL
SELECT 'trigger', r.qname || '.' || quote_ident(tg.tgname), 'table:' || r.qname,
       jsonb_build_object('definition', pg_get_triggerdef(tg.oid, true), 'enabled', tg.tgenabled::text)
FROM pg_trigger tg JOIN user_rel r ON r.oid = tg.tgrelid
WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'policy', r.qname || '.' || quote_ident(pol.polname), 'table:' || r.qname,
       jsonb_build_object('command', pol.polcmd::text, 'permissive', pol.polpermissive,
         'roles', (SELECT jsonb_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END ORDER BY x)
                   FROM unnest(pol.polroles) AS x),
         'using', pg_get_expr(pol.polqual, pol.polrelid), 'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid))
FROM pg_policy pol JOIN user_rel r ON r.oid = pol.polrelid
UNION ALL
SELECT 'extension', quote_ident(x.extname), NULL,
       jsonb_build_object('schema', x.extnamespace::regnamespace::text, 'version', x.extversion)
FROM pg_extension x WHERE x.extname <> 'plpgsql'
