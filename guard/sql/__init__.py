"""The typed statement model (`facts`) and its readers: sqlglot first, a small token reader for the forms sqlglot leaves unstructured."""
