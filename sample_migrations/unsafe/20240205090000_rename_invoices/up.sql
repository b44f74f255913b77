-- expect: avoid-rename-table
ALTER TABLE invoices RENAME TO bills;
