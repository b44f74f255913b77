-- expect: avoid-destructive-dynamic-sql
DO $$
BEGIN
    EXECUTE 'DROP TABLE ' || quote_ident('import_staging');
END
$$;
