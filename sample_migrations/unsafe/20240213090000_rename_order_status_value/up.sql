-- expect: avoid-rename-enum-value
ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';
